"""Human feedback on a run, summarised: per criterion, the mean score with its interval, who
reviewed, what still awaits review; and the run's ``feedback_scores`` derived from it.

Feedback rows are appended, never edited (``storage/feedback.py``). Everything here is
derived from them on demand: a summary counts each reviewer's *latest* score per result
(a correction replaces, in the count, what it corrects), and :func:`record_feedback` —
the one way the CLI adds feedback — rewrites the run's ``feedback_scores`` after every
row, so the run record always agrees with its feedback.

Scores are kept as reviewers gave them, in the scale of the run's ``human`` scorer for
that criterion (``[0, 1]`` when the run has none); means are reported in that scale, and
:func:`normalise` brings them to [0, 1] where they meet judges or exports.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from evalbook.core.feedback import Feedback, HumanVerdict, latest_scores
from evalbook.core.identity import canonical_json
from evalbook.errors import UserError
from evalbook.storage.feedback import (
    KindRecord,
    add_feedback,
    list_feedback,
    records_of_kind,
    set_feedback_scores,
)
from evalbook.storage.store import Store

__all__ = [
    "ANONYMOUS",
    "CriterionFeedback",
    "HumanScales",
    "feedback_scores_json",
    "feedback_summary",
    "human_verdicts",
    "normalise",
    "record_feedback",
    "refresh_feedback_scores",
]

#: How feedback without an author is counted and shown.
ANONYMOUS = "anonymous"
Scale = tuple[float, float]


def normalise(score: float, scale: Scale | None) -> float:
    """``score`` of ``scale`` mapped to [0, 1] (unchanged when the scale is unknown)."""
    if scale is None:
        return score
    low, high = scale
    return (score - low) / (high - low)


def criterion_of(record: KindRecord) -> str:
    """The criterion a ``human`` (or judge) record is about."""
    found = record.details.get("criterion") or record.config.get("criterion")
    return str(found) if found else record.name


def _scale_of(record: KindRecord) -> Scale | None:
    raw = record.details.get("scale") or record.config.get("scale")
    if isinstance(raw, list | tuple) and len(raw) == 2:
        return float(raw[0]), float(raw[1])
    return None


@dataclass(frozen=True)
class HumanScales:
    """Which results a run's ``human`` scorers ask to be reviewed, and in what scale."""

    #: ``(result_id, criterion) → scale`` of every reviewable human record.
    wanted: dict[tuple[str, str], Scale]
    #: ``(case_id, epoch, criterion) → scale``: the same, by case.
    by_case: dict[tuple[str, int, str], Scale]
    #: ``criterion → scale`` (the first seen, for results without their own record).
    by_criterion: dict[str, Scale]

    @classmethod
    def of_run(cls, store: Store, run_id: str) -> HumanScales:
        wanted: dict[tuple[str, str], Scale] = {}
        by_case: dict[tuple[str, int, str], Scale] = {}
        by_criterion: dict[str, Scale] = {}
        for record in records_of_kind(store, run_id, ["human"]):
            if record.error is not None:  # the case errored: there is nothing to review
                continue
            criterion = criterion_of(record)
            scale = _scale_of(record) or (0.0, 1.0)
            wanted[record.result_id, criterion] = scale
            by_case[record.case_id, record.epoch, criterion] = scale
            by_criterion.setdefault(criterion, scale)
        return cls(wanted, by_case, by_criterion)

    def scale(self, result_id: str, criterion: str) -> Scale | None:
        return self.wanted.get((result_id, criterion)) or self.by_criterion.get(criterion)


@dataclass(frozen=True)
class CriterionFeedback:
    """Feedback under one name (criterion) of a run.

    ``mean`` and its interval are over the latest score of each reviewer on each result,
    in the reviewers' scale (``scale``; ``None`` when no ``human`` scorer gave one). The
    interval is a seeded percentile bootstrap of the mean, so it never leaves the range of
    the ratings (a t interval on two ratings of a 1–5 scale read [-16.6, 21.6]); below
    :data:`MIN_RATINGS` there is none. ``ci_method`` says which.
    ``authors`` counts the results each reviewer gave any feedback on; ``reviewed`` the
    results with a score or a label; ``awaiting`` the results a ``human`` scorer marked
    for review that have neither yet (a comment alone does not complete a review)."""

    name: str
    mean: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    scale: Scale | None
    authors: dict[str, int]
    labels: dict[str, int]
    reviewed: int
    awaiting: int
    ci_method: str = ""


def feedback_summary(store: Store, run_id: str) -> dict[str, CriterionFeedback]:
    """Per feedback name and per criterion of the run's ``human`` scorers (even one with
    no feedback yet: everything awaits), sorted by name. ``run_id`` may be a prefix."""
    run_id = store.get_run(run_id).id
    return _summarise(list_feedback(store, run_id), HumanScales.of_run(store, run_id))


def _summarise(rows: list[Feedback], scales: HumanScales) -> dict[str, CriterionFeedback]:
    by_name: dict[str, list[Feedback]] = defaultdict(list)
    for row in rows:
        by_name[row.name].append(row)
    wanted: dict[str, set[str]] = defaultdict(set)
    for result_id, criterion in scales.wanted:
        wanted[criterion].add(result_id)
    out = {}
    for name in sorted(by_name.keys() | wanted.keys()):
        named = by_name.get(name, [])
        scores = [row.score for row in latest_scores(named) if row.score is not None]
        mean, low, high, method = rating_interval(scores)
        scale = scales.by_criterion.get(name)
        reviewed = {r.result_id for r in named if r.score is not None or r.label is not None}
        authors: dict[str, set[str]] = defaultdict(set)
        for row in named:
            authors[row.author or ANONYMOUS].add(row.result_id)
        out[name] = CriterionFeedback(
            name=name,
            mean=mean,
            n=len(scores),
            ci_low=low,
            ci_high=high,
            scale=scale,
            authors={a: len(results) for a, results in sorted(authors.items())},
            labels=dict(Counter(r.label for r in named if r.label is not None).most_common()),
            reviewed=len(reviewed),
            awaiting=len(wanted.get(name, set()) - reviewed),
            ci_method=method,
        )
    return out


#: Fewer ratings than this get no interval: "too few ratings" is the honest answer.
MIN_RATINGS = 5
_RESAMPLES = 10_000


def rating_interval(
    scores: list[float], confidence: float = 0.95
) -> tuple[float | None, float | None, float | None, str]:
    """``(mean, low, high, method)`` of ratings (``method`` a compact code, see
    :func:`describe_method`): a percentile bootstrap of the mean
    (seeded, so the same ratings give the same interval), inside the ratings' range and so
    inside their scale; no interval below :data:`MIN_RATINGS` ratings."""
    import numpy as np

    if not scores:
        return None, None, None, "none"
    mean = float(sum(scores) / len(scores))
    if len(scores) < MIN_RATINGS:
        return mean, None, None, f"too-few-ratings:n<{MIN_RATINGS}"
    values = np.asarray(scores, dtype=np.float64)
    rng = np.random.default_rng(0)
    means = values[rng.integers(0, values.size, size=(_RESAMPLES, values.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    method = f"percentile-bootstrap:{_RESAMPLES}:{confidence:g}"
    return mean, float(low), float(high), method


def feedback_scores_json(summary: dict[str, CriterionFeedback]) -> str | None:
    """Seed 000's ``feedback_scores``: compact JSON ``{name: {mean, n, ci_low, ci_high}}``
    of every name with at least one score; ``None`` when no feedback has a score."""
    scored = {
        name: {
            "mean": c.mean,
            "n": c.n,
            "ci_low": c.ci_low,
            "ci_high": c.ci_high,
            "ci_method": c.ci_method,
        }
        for name, c in summary.items()
        if c.n > 0
    }
    return canonical_json(scored) if scored else None


def refresh_feedback_scores(store: Store, run_id: str) -> str | None:
    """Recompute the run's ``feedback_scores`` from its feedback rows and store it (the
    only change ever made to a finished run's row). Returns the new value."""
    run_id = store.get_run(run_id).id
    text = feedback_scores_json(feedback_summary(store, run_id))
    set_feedback_scores(store, run_id, text)
    return text


def record_feedback(
    store: Store,
    run_id: str,
    case_id: str,
    *,
    epoch: int = 0,
    name: str | None = None,
    score: float | None = None,
    label: str | None = None,
    comment: str | None = None,
    author: str | None = None,
) -> Feedback:
    """Append feedback and refresh the run's ``feedback_scores``.

    ``name`` defaults to the criterion of the run's ``human`` scorer when it has exactly
    one (``human`` when it has none; several must be chosen from). A score outside the
    ``human`` scorer's scale for that criterion is refused."""
    run = store.get_run(run_id)
    scales = HumanScales.of_run(store, run.id)
    if name is None:
        criteria = sorted(scales.by_criterion)
        if len(criteria) > 1:
            raise UserError(
                f"run {run.id} has several human criteria ({', '.join(criteria)}):"
                " say which one this feedback is for (--name)"
            )
        name = criteria[0] if criteria else "human"
    scale = scales.by_case.get((case_id, epoch, name)) or scales.by_criterion.get(name)
    if score is not None and scale is not None and _outside(score, scale):
        raise UserError(
            f"score {score:g} for {name!r} is outside its scale {scale[0]:g}–{scale[1]:g}"
            f" (case {case_id!r} of run {run.id})"
        )
    row = add_feedback(
        store,
        run.id,
        case_id,
        epoch=epoch,
        name=name,
        score=score,
        label=label,
        comment=comment,
        author=author,
    )
    refresh_feedback_scores(store, run.id)
    return row


def _outside(score: float, scale: Scale) -> bool:
    """Whether a finite ``score`` is outside ``scale`` (a non-finite one is refused by
    ``add_feedback`` with a message of its own)."""
    return math.isfinite(score) and not scale[0] <= score <= scale[1]


def human_verdicts(store: Store, run_id: str) -> dict[str, list[HumanVerdict]]:
    """``result_id → verdicts`` (one per feedback name) of every reviewed result."""
    run_id = store.get_run(run_id).id
    rows = list_feedback(store, run_id)
    if not rows:
        return {}
    scales = HumanScales.of_run(store, run_id)
    groups: dict[tuple[str, str], list[Feedback]] = defaultdict(list)
    for row in rows:
        groups[row.result_id, row.name].append(row)
    out: dict[str, list[HumanVerdict]] = defaultdict(list)
    for (result_id, name), group in groups.items():
        scale = scales.scale(result_id, name)
        scores = [normalise(r.score, scale) for r in latest_scores(group) if r.score is not None]
        labels = [r.label for r in group if r.label is not None]
        out[result_id].append(
            HumanVerdict(
                name=name,
                score=sum(scores) / len(scores) if scores else None,
                n=len(scores),
                label=labels[-1] if labels else None,
                comments=tuple(f"{r.author or ANONYMOUS}: {r.comment}" for r in group if r.comment),
                updated_at=group[-1].created_at,
            )
        )
    return dict(out)


def describe_method(code: str) -> str:
    """The interval method of :func:`rating_interval` in words."""
    kind, _, rest = code.partition(":")
    if kind == "percentile-bootstrap":
        resamples, _, confidence = rest.partition(":")
        return f"{float(confidence):.0%} percentile bootstrap, {int(resamples):,} resamples"
    if kind == "too-few-ratings":
        return f"too few ratings for an interval ({rest.replace('<', ' < ')})"
    return "no ratings"
