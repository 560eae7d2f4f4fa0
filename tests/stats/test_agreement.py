"""Agreement statistics against published worked examples and independent computations."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from evalbook.stats.agreement import (
    Level,
    _alpha,
    _pairs,
    cohen_kappa,
    fleiss_kappa,
    judge_human_agreement,
    krippendorff_alpha,
    landis_koch,
    panel_agreement,
    pass_kappa,
)

N = None
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with
# missing data: four observers (rows), twelve units (columns).
OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
UNITS = [list(unit) for unit in zip(*OBSERVERS, strict=True)]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")

# Fleiss (1971) as worked on Wikipedia: 10 items, 14 raters, counts per category 1..5.
FLEISS_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _reference_alpha(units: Sequence[Sequence[float | None]], level: Level) -> float:
    """Krippendorff (2011) transcribed loop by loop: coincidences, then δ² by level."""
    rows = [[v for v in unit if v is not None] for unit in units]
    rows = [row for row in rows if len(row) >= 2]
    values = sorted({v for row in rows for v in row})
    o = {(c, k): 0.0 for c in values for k in values}
    for row in rows:
        for i, c in enumerate(row):
            for j, k in enumerate(row):
                if i != j:
                    o[c, k] += 1 / (len(row) - 1)
    n_c = {c: sum(o[c, k] for k in values) for c in values}
    n = sum(n_c.values())

    def delta(c: float, k: float) -> float:
        if level == "nominal":
            return float(c != k)
        if level == "interval":
            return (c - k) ** 2
        if level == "ratio":
            return ((c - k) / (c + k)) ** 2 if c + k else 0.0
        lo, hi = sorted((c, k))
        return (sum(n_c[g] for g in values if lo <= g <= hi) - (n_c[c] + n_c[k]) / 2) ** 2

    d_o = sum(o[c, k] * delta(c, k) for c in values for k in values)
    d_e = sum(n_c[c] * n_c[k] * delta(c, k) for c in values for k in values)
    return 1 - (n - 1) * d_o / d_e


def test_fleiss_worked_example() -> None:
    ratings = [[cat for cat, n in enumerate(row, 1) for _ in range(n)] for row in FLEISS_COUNTS]
    assert round(fleiss_kappa(ratings), 3) == 0.210


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_2011_example(level: Level, published: float) -> None:
    assert round(krippendorff_alpha(UNITS, level=level), 3) == published


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("level", LEVELS)
def test_alpha_matches_the_papers_loops(seed: int, level: Level) -> None:
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 6, size=(25, 4)).astype(float)
    units = [[None if rng.random() < 0.25 else float(v) for v in row] for row in grid]
    assert krippendorff_alpha(units, level=level) == pytest.approx(_reference_alpha(units, level))


@pytest.mark.parametrize("level", LEVELS)
def test_resample_weights_equal_repeated_items(level: Level) -> None:
    """The bootstrap weighs items by draw count: the same as listing them that often."""
    counts = np.array([2, 0, 1, 3, 1, 0, 1, 2, 1, 1, 1], dtype=float)  # the 11 pairable units
    pairable = [unit for unit in UNITS if sum(v is not None for v in unit) >= 2]
    repeated = [unit for unit, n in zip(pairable, counts, strict=True) for _ in range(int(n))]
    weighted = _alpha(_pairs(UNITS, level), level, counts)
    assert weighted == pytest.approx(krippendorff_alpha(repeated, level=level))


def test_cohen_two_by_two() -> None:
    # 50 items: yes/yes 20, yes/no 5, no/yes 10, no/no 15 → p_o = .7, p_e = .5, κ = .4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_cohen_weighted_by_hand() -> None:
    # Observed |i−j| sums to 4 over 6 items, expected 8/9 per item: κ = 1 − (4/6)/(8/9).
    # Squared: observed 6/6, expected 12/9: κ = 1 − 1/(12/9). Both are 0.25.
    a, b = [1, 2, 3, 1, 2, 3], [1, 3, 3, 2, 2, 1]
    assert cohen_kappa(a, b, weights="linear") == pytest.approx(0.25)
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(0.25)


def test_cohen_quadratic_equals_moment_form() -> None:
    """Quadratic-weighted kappa = 2·cov / (var_a + var_b + (mean_a − mean_b)²), population
    moments of the scale positions: an identity independent of the confusion matrix."""
    rng = np.random.default_rng(7)
    a = rng.integers(1, 6, 200)
    b = np.clip(a + rng.integers(-2, 3, 200), 1, 5)
    cov = float(np.mean((a - a.mean()) * (b - b.mean())))
    moment = 2 * cov / (a.var() + b.var() + (a.mean() - b.mean()) ** 2)
    kappa = cohen_kappa(a.tolist(), b.tolist(), weights="quadratic", categories=[1, 2, 3, 4, 5])
    assert kappa == pytest.approx(moment)


def test_cohen_unweighted_from_confusion_matrix() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4, 300)
    b = np.where(rng.random(300) < 0.6, a, rng.integers(0, 4, 300))
    table = np.zeros((4, 4))
    np.add.at(table, (a, b), 1)
    table /= table.sum()
    p_o = np.trace(table)
    p_e = float(table.sum(axis=1) @ table.sum(axis=0))
    assert cohen_kappa(a.tolist(), b.tolist()) == pytest.approx((p_o - p_e) / (1 - p_e))


def test_perfect_agreement_is_one() -> None:
    labels = ["a", "b", "c", "a", "b"]
    assert cohen_kappa(labels, labels) == 1.0
    assert cohen_kappa([1, 3, 5], [1, 3, 5], weights="quadratic") == 1.0
    assert fleiss_kappa([[x, x, x] for x in labels]) == 1.0
    for level in LEVELS:
        assert krippendorff_alpha([[x, x, None] for x in (1, 2, 5)], level=level) == 1.0


def test_constant_rater_is_zero_and_one_category_throughout_is_one() -> None:
    assert cohen_kappa(["pass"] * 6, ["pass", "fail", "pass", "fail", "pass", "pass"]) == 0.0
    assert cohen_kappa(["pass"] * 4, ["pass"] * 4) == 1.0  # documented: no variation at all
    assert fleiss_kappa([["x", "x"]] * 3) == 1.0
    assert krippendorff_alpha([[0.5, 0.5], [0.5, 0.5]], level="interval") == 1.0


def test_systematic_disagreement_is_negative() -> None:
    a = [0, 1] * 10
    b = [1, 0] * 10
    assert cohen_kappa(a, b) == pytest.approx(-1.0)
    assert fleiss_kappa([[x, y] for x, y in zip(a, b, strict=True)]) < 0
    assert krippendorff_alpha([[x, y] for x, y in zip(a, b, strict=True)]) < 0


def test_missing_ratings_are_dropped() -> None:
    a, b = ["a", None, "b", "a", "b", "c"], ["a", "b", None, "b", "b", None]
    assert cohen_kappa(a, b) == cohen_kappa(["a", "a", "b"], ["a", "b", "b"])
    assert fleiss_kappa([[1, 1], [2, None], [2, 2], [1, 2]]) == fleiss_kappa(
        [[1, 1], [2, 2], [1, 2]]
    )


def test_unicode_and_string_labels() -> None:
    a = ["好", "不好", "好", "😀", "好", "不好"]
    b = ["好", "好", "好", "😀", "不好", "不好"]
    code = {"好": 0, "不好": 1, "😀": 2}
    as_ints = ([code[x] for x in a], [code[x] for x in b])
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa(*as_ints))
    units: list[list[Hashable | None]] = [[x, y, None] for x, y in zip(a, b, strict=True)]
    coded = [[x, y, None] for x, y in zip(*as_ints, strict=True)]
    assert krippendorff_alpha(units) == pytest.approx(krippendorff_alpha(coded))
    assert fleiss_kappa([[x, y] for x, y in zip(a, b, strict=True)]) == pytest.approx(
        fleiss_kappa([[x, y] for x, y in zip(*as_ints, strict=True)])
    )


def test_pass_kappa() -> None:
    judge = [True, True, False, None, False, True]
    human = [True, False, False, True, False, True]
    expected = cohen_kappa([1, 1, 0, 0, 1], [1, 0, 0, 0, 1])
    assert pass_kappa(judge, human) == pytest.approx(expected)


def test_panel_agreement_interval_and_determinism() -> None:
    first = panel_agreement(UNITS, level="interval", resamples=500, seed=1)
    assert first == panel_agreement(UNITS, level="interval", resamples=500, seed=1)
    assert first.value == pytest.approx(krippendorff_alpha(UNITS, level="interval"))
    assert first.value is not None and first.ci_low is not None and first.ci_high is not None
    assert first.ci_low <= first.value <= first.ci_high
    assert (first.n_items, first.n_raters) == (11, 4)
    assert first.metric == "krippendorff_alpha_interval"
    assert first.interpretation == "almost perfect"


def test_panel_agreement_needs_two_items() -> None:
    result = panel_agreement([[0.5, 0.7], [0.1, None], [None, None]])
    assert result.value is None and result.ci_low is None and result.ci_high is None
    assert (result.n_items, result.n_raters, result.interpretation) == (1, 2, "insufficient data")


def test_judge_human_agreement() -> None:
    judge = [0.9, 0.2, 0.5, None, 0.8, 0.1]
    human = [1.0, 0.0, 0.6, 0.4, 0.7, 0.2]
    result = judge_human_agreement(judge, human)
    units = [[j, h] for j, h in zip(judge, human, strict=True)]
    assert result.value == pytest.approx(krippendorff_alpha(units, level="interval"))
    assert (result.n_items, result.n_raters) == (5, 2)
    with pytest.raises(ValueError, match="judge scores"):
        judge_human_agreement([0.1], [0.1, 0.2])


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.5, "moderate"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
    ],
)
def test_landis_koch(value: float, band: str) -> None:
    assert landis_koch(value) == band


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="sort"):
        cohen_kappa(["a", 1], [1, "a"], weights="linear")
    with pytest.raises(ValueError, match="not in categories"):
        cohen_kappa([1, 2], [1, 3], categories=[1, 2])
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(UNITS, level="cardinal")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not a finite number"):
        krippendorff_alpha([["a", "b"]], level="interval")
    with pytest.raises(ValueError, match="same number"):
        fleiss_kappa([[1, 2], [1, 2, 3]])
    with pytest.raises(ValueError, match="two ratings"):
        krippendorff_alpha([[1, None], [None, 2]])
