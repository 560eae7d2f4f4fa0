"""Inter-rater agreement: can a judge panel, or a judge standing in for a human, be trusted?

A judge score is only a measurement if independent raters would give the same one. Raw
percent agreement flatters raters who mostly say the same thing (two judges that pass 95% of
cases agree 90% of the time by chance alone), so every statistic here is chance-corrected
(1 = perfect, 0 = what chance gives, below 0 = systematic disagreement). Which one:

- :func:`cohen_kappa` — exactly two raters, every item rated by both: a judge's pass/fail
  against a human's (:func:`pass_kappa`). Weighted (linear or quadratic) for ordinal scales,
  where a 4 against a 5 is a smaller miss than a 1 against a 5.
- :func:`fleiss_kappa` — a fixed number of raters per item, nominal labels, no gaps.
- :func:`krippendorff_alpha` — the general case and the one the summaries use
  (:func:`panel_agreement`, :func:`judge_human_agreement`): any number of raters, missing
  ratings, and a distance that fits the scale (nominal, ordinal, interval, ratio). Computed
  from the coincidence matrix of Krippendorff (2011), "Computing Krippendorff's
  Alpha-Reliability".

Degenerate data: when every rating is the same value there is no variation to be explained
and the statistics are formally 0/0. They return ``1.0`` (the raters did agree, if
trivially) rather than NaN, which JSON cannot carry; read it with the number of items.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from evalbook.stats.paired import DEFAULT_SEED

__all__ = [
    "Agreement",
    "Level",
    "cohen_kappa",
    "fleiss_kappa",
    "judge_human_agreement",
    "krippendorff_alpha",
    "landis_koch",
    "panel_agreement",
    "pass_kappa",
]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
_LEVELS = ("nominal", "ordinal", "interval", "ratio")
#: Landis & Koch (1977): below 0 is "poor"; then the upper bound of each band and its name.
_BANDS = ((0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"))


@dataclass(frozen=True)
class Agreement:
    """One agreement statistic over ``n_items`` items with a bootstrap interval over items.

    ``value`` (and the interval) is ``None`` when fewer than two items were rated twice."""

    metric: str
    value: float | None
    n_items: int
    n_raters: int
    ci_low: float | None
    ci_high: float | None
    interpretation: str


def landis_koch(value: float | None) -> str:
    """The Landis & Koch band of a kappa or alpha: a label for humans, not a threshold."""
    if value is None:
        return "insufficient data"
    if value < 0:
        return "poor"
    return next((name for bound, name in _BANDS if value <= bound), "almost perfect")


def cohen_kappa(
    a: Sequence[Hashable | None],
    b: Sequence[Hashable | None],
    *,
    weights: Literal["linear", "quadratic"] | None = None,
    categories: Sequence[Hashable] | None = None,
) -> float:
    """Cohen's kappa of two raters over the same items; pairs with a ``None`` are dropped.

    Weighted kappa measures a disagreement by the distance between the two categories'
    positions in ``categories`` (default: the labels used, sorted). Pass the full scale,
    e.g. ``categories=[1, 2, 3, 4, 5]``, so that an unused middle point still counts as
    distance. Returns ``1.0`` when both raters used one identical category throughout."""
    if len(a) != len(b):
        raise ValueError(f"cohen_kappa: {len(a)} ratings against {len(b)}")
    pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not pairs:
        raise ValueError("cohen_kappa: no item was rated by both raters")
    used = {v for p in pairs for v in p}
    cats = list(categories) if categories is not None else _ordered(used, strict=bool(weights))
    index = {c: i for i, c in enumerate(cats)}
    unknown = used - index.keys()
    if unknown:
        raise ValueError(f"cohen_kappa: labels {sorted(map(repr, unknown))} not in categories")
    k = len(cats)
    observed = np.zeros((k, k))
    for x, y in pairs:
        observed[index[x], index[y]] += 1
    pos = np.arange(k)
    if weights is None:
        w = (pos[:, None] != pos[None, :]).astype(float)
    elif weights in ("linear", "quadratic"):
        w = np.abs(pos[:, None] - pos[None, :]).astype(float) ** (1 if weights == "linear" else 2)
    else:
        raise ValueError(f"cohen_kappa: weights must be None, 'linear' or 'quadratic': {weights!r}")
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(pairs)
    disagreement = float((w * expected).sum())
    if disagreement == 0:  # both raters used one category (so observed is 0 as well)
        return 1.0
    return 1.0 - float((w * observed).sum()) / disagreement


def pass_kappa(judge_pass: Sequence[bool | None], human_pass: Sequence[bool | None]) -> float:
    """Cohen's kappa of a judge's pass/fail verdicts against a human's on the same items."""
    return cohen_kappa(judge_pass, human_pass, categories=[False, True])


def fleiss_kappa(ratings: Sequence[Sequence[Hashable | None]]) -> float:
    """Fleiss' kappa: each item rated by the same number ``m ≥ 2`` of raters into nominal
    categories (the raters need not be the same people). Items with a ``None`` are dropped.
    Returns ``1.0`` when every rating is the same category."""
    items = [list(item) for item in ratings if all(v is not None for v in item)]
    if not items:
        raise ValueError("fleiss_kappa: no complete item")
    m = len(items[0])
    if m < 2 or any(len(item) != m for item in items):
        raise ValueError("fleiss_kappa: every item needs the same number (≥ 2) of ratings")
    labels = _ordered({v for item in items for v in item}, strict=False)
    index = {c: i for i, c in enumerate(labels)}
    counts = np.zeros((len(items), len(index)))
    for row, item in enumerate(items):
        for v in item:
            counts[row, index[v]] += 1
    if len(index) == 1:
        return 1.0
    p_item = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_cat = counts.sum(axis=0) / counts.sum()
    chance = float((p_cat**2).sum())
    return (float(p_item.mean()) - chance) / (1.0 - chance)


def krippendorff_alpha(
    units: Sequence[Sequence[Hashable | None]], *, level: Level = "nominal"
) -> float:
    """Krippendorff's alpha. ``units`` holds one row per item with one slot per rater
    (``None`` = not rated); items with fewer than two ratings cannot be compared and are
    ignored. Values are any labels for ``nominal`` and numbers otherwise (``ratio``:
    non-negative). Returns ``1.0`` when every pairable rating is the same value."""
    pairs = _pairs(units, level)
    if pairs.n_units == 0:
        raise ValueError("krippendorff_alpha: no item has two ratings")
    return _alpha(pairs, level, None)


def panel_agreement(
    units: Sequence[Sequence[float | None]],
    *,
    level: Level = "interval",
    resamples: int = 1000,
    seed: int = DEFAULT_SEED,
    confidence: float = 0.95,
) -> Agreement:
    """Krippendorff's alpha of a judge panel (one row per item, one slot per judge), with a
    percentile bootstrap interval over items (fixed ``seed``: the same data gives the same
    interval). ``value`` is ``None`` when fewer than two items have two ratings."""
    pairs = _pairs(units, level)
    n_raters = max((len(unit) for unit in units), default=0)
    metric = f"krippendorff_alpha_{level}"
    if pairs.n_units < 2:
        return Agreement(metric, None, pairs.n_units, n_raters, None, None, landis_koch(None))
    value = _alpha(pairs, level, None)
    low: float | None = None
    high: float | None = None
    if resamples > 0:
        rng = np.random.default_rng(seed)
        draws = []
        for _ in range(resamples):
            drawn = rng.integers(0, pairs.n_units, pairs.n_units)
            counts = np.bincount(drawn, minlength=pairs.n_units).astype(float)
            draws.append(_alpha(pairs, level, counts))
        tail = (1 - confidence) / 2
        low, high = (float(q) for q in np.quantile(draws, [tail, 1 - tail]))
    return Agreement(metric, value, pairs.n_units, n_raters, low, high, landis_koch(value))


def judge_human_agreement(
    judge: Sequence[float | None],
    human: Sequence[float | None],
    *,
    level: Level = "interval",
    resamples: int = 1000,
    seed: int = DEFAULT_SEED,
) -> Agreement:
    """How far a judge can stand in for a human: Krippendorff's alpha of the two as raters
    of the same items (position ``i`` of each list is item ``i``; ``None`` = not rated).

    Normalise both to the same scale first (e.g. [0, 1]): alpha counts a judge that is
    consistently 0.2 higher than the human as disagreement, which a correlation would not,
    because a gate compares the judge's scores with a fixed threshold."""
    if len(judge) != len(human):
        raise ValueError(f"judge_human_agreement: {len(judge)} judge scores, {len(human)} human")
    units = [[j, h] for j, h in zip(judge, human, strict=True)]
    return panel_agreement(units, level=level, resamples=resamples, seed=seed)


@dataclass(frozen=True)
class _Pairs:
    """Every ordered pair of ratings within an item, as indices into ``coords`` (the
    distinct values; sorted numbers, or placeholders for nominal labels)."""

    coords: FloatArray
    unit: IntArray  # the item of each pair
    c: IntArray
    k: IntArray
    scale: FloatArray  # 1 / (m_u - 1): each item contributes its m_u values once in all
    ratio_delta: FloatArray  # distinct × distinct distances for level="ratio", else empty
    n_units: int


def _pairs(units: Sequence[Sequence[Hashable | None]], level: Level) -> _Pairs:
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(_LEVELS)}: {level!r}")
    kept = [[v for v in unit if v is not None] for unit in units]
    kept = [unit for unit in kept if len(unit) >= 2]
    if level == "nominal":
        index: dict[Hashable, int] = {}
        coded = [[index.setdefault(v, len(index)) for v in unit] for unit in kept]
        coords = np.zeros(len(index))
    else:
        numbers_ = [[_number(v) for v in unit] for unit in kept]
        coords = np.unique([x for unit in numbers_ for x in unit]).astype(float)
        coded = [np.searchsorted(coords, unit).tolist() for unit in numbers_]
        if level == "ratio" and coords.size and coords[0] < 0:
            raise ValueError("krippendorff_alpha: ratio values must be non-negative")
    unit, c, k, scale = [np.zeros(0, np.intp)], [np.zeros(0, np.intp)], [np.zeros(0, np.intp)], []
    for m in sorted({len(row) for row in coded}):
        ids = np.array([u for u, row in enumerate(coded) if len(row) == m], dtype=np.intp)
        grid = np.array([coded[u] for u in ids], dtype=np.intp)
        i, j = np.nonzero(~np.eye(m, dtype=bool))  # every ordered pair of two raters
        unit.append(np.repeat(ids, i.size))
        c.append(grid[:, i].ravel())
        k.append(grid[:, j].ravel())
        scale.append(np.full(ids.size * i.size, 1.0 / (m - 1)))
    ratio_delta = np.zeros((0, 0))
    if level == "ratio":
        total = coords[:, None] + coords[None, :]
        diff = coords[:, None] - coords[None, :]
        ratio_delta = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0) ** 2
    return _Pairs(
        coords=coords,
        unit=np.concatenate(unit),
        c=np.concatenate(c),
        k=np.concatenate(k),
        scale=np.concatenate([np.zeros(0), *scale]),
        ratio_delta=ratio_delta,
        n_units=len(kept),
    )


def _alpha(p: _Pairs, level: Level, unit_weights: FloatArray | None) -> float:
    """``1 − (n − 1) Σ o_ck δ_ck / Σ n_c n_k δ_ck`` over the coincidence matrix ``o``
    (here: its pairs), items weighted by how often a bootstrap resample drew them."""
    w = p.scale if unit_weights is None else p.scale * unit_weights[p.unit]
    n = np.bincount(p.c, weights=w, minlength=p.coords.size)
    if np.count_nonzero(n) < 2:  # one value throughout: nothing to disagree about
        return 1.0
    total = float(n.sum())
    if level == "nominal":
        observed = float(w[p.c != p.k].sum())
        expected = total**2 - float((n**2).sum())
    elif level == "ratio":
        observed = float((w * p.ratio_delta[p.c, p.k]).sum())
        expected = float(n @ p.ratio_delta @ n)
    else:
        # Ordinal distance is interval distance between mid-ranks: Σ n_g over g from c to k,
        # less (n_c + n_k) / 2, equals midrank(k) − midrank(c).
        x = p.coords if level == "interval" else np.cumsum(n) - n / 2
        observed = float((w * (x[p.c] - x[p.k]) ** 2).sum())
        expected = 2 * total * float(n @ (x - (n @ x) / total) ** 2)
    return 1.0 - (total - 1) * observed / expected


def _number(v: Hashable) -> float:
    if isinstance(v, numbers.Real) and math.isfinite(v):
        return float(v)
    raise ValueError(f"krippendorff_alpha: {v!r} is not a finite number (use level='nominal')")


def _ordered(labels: set[Hashable], *, strict: bool) -> list[Hashable]:
    """Labels sorted: the scale's order for weighted kappa (``strict``: they must sort), a
    stable order otherwise."""
    try:
        return sorted(labels)  # type: ignore[type-var]
    except TypeError:
        if strict:
            raise ValueError("weighted kappa needs labels that sort, or categories") from None
        return sorted(labels, key=repr)
