"""How far a run's judges can be trusted: per judged criterion, from the stored verdicts.

For every ``llm_judge`` score name of a run: how many verdicts parsed and how many were
errors (a judge that cannot follow the verdict format is measuring nothing), the mean
with its interval, each panel member's mean (a lenient or harsh member shows here), the
panel's agreement (Krippendorff's α on the raw grades, interval distance, with a
bootstrap interval over cases) and what the judges spent. Everything is read from the
score records' evidence, so a report can be made for any stored run without the suite.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from evalbook.stats.agreement import Agreement, panel_agreement
from evalbook.stats.intervals import mean_ci
from evalbook.storage.store import Store

__all__ = ["CriterionReport", "judge_report"]


@dataclass
class CriterionReport:
    """One judged score name of a run."""

    name: str
    template: str | None = None
    judges: list[str] = field(default_factory=list)
    scored: int = 0
    errors: int = 0
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    #: Mean normalised grade per panel member (only members that gave a verdict).
    member_means: dict[str, float] = field(default_factory=dict)
    #: Verdicts each member failed to give (unparseable or a failed call).
    member_errors: dict[str, int] = field(default_factory=dict)
    agreement: Agreement | None = None
    cost_usd: float | None = 0.0
    tokens: int = 0

    @property
    def error_rate(self) -> float | None:
        total = self.scored + self.errors
        return self.errors / total if total else None

    def as_dict(self) -> dict[str, Any]:
        agreement = self.agreement
        return {
            "name": self.name,
            "template": self.template,
            "judges": self.judges,
            "scored": self.scored,
            "errors": self.errors,
            "error_rate": self.error_rate,
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "member_means": self.member_means,
            "member_errors": self.member_errors,
            "agreement": None if agreement is None else agreement.__dict__,
            "cost_usd": self.cost_usd,
            "tokens": self.tokens,
        }


def judge_report(store: Store, run_id: str) -> list[CriterionReport]:
    """A :class:`CriterionReport` per judged score name of ``run_id``, by name."""
    run = store.get_run(run_id)
    reports: dict[str, CriterionReport] = {}
    scores: dict[str, list[float]] = defaultdict(list)
    members: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    units: dict[str, list[list[float | None]]] = defaultdict(list)
    scales: dict[str, tuple[float, float]] = {}
    for result in store.iter_results(run.id):
        for record in result.scores:
            if record.kind != "llm_judge":
                continue
            report = reports.setdefault(record.name, CriterionReport(record.name))
            _add_usage(report, record.cost_usd, record.input_tokens, record.output_tokens)
            details = record.evidence.details or {}
            if record.score is None:
                report.errors += 1
                continue
            report.scored += 1
            scores[record.name].append(record.score)
            report.template = details.get("template", report.template)
            votes = details.get("votes") or []
            lo, hi = details.get("scale") or (0, 1)
            scales[record.name] = (float(lo), float(hi))
            unit: list[float | None] = []
            for vote in votes:
                model = str(vote.get("model"))
                if model not in report.judges:
                    report.judges.append(model)
                raw = vote.get("raw")
                if raw is None:
                    report.member_errors[model] = report.member_errors.get(model, 0) + 1
                    unit.append(None)
                else:
                    members[record.name][model].append(float(raw))
                    unit.append(float(raw))
            if len(votes) > 1:
                units[record.name].append(unit)
    for name, report in reports.items():
        report.mean, report.ci_low, report.ci_high = mean_ci(scores[name])
        lo, hi = scales.get(name, (0.0, 1.0))
        report.member_means = {
            model: (sum(v) / len(v) - lo) / (hi - lo) for model, v in members[name].items() if v
        }
        if units[name]:
            report.agreement = panel_agreement(units[name], level="interval")
    return [reports[name] for name in sorted(reports)]


def _add_usage(
    report: CriterionReport, cost: float | None, tokens_in: int | None, tokens_out: int | None
) -> None:
    tokens = (tokens_in or 0) + (tokens_out or 0)
    report.tokens += tokens
    if report.cost_usd is None:
        return
    if cost is None and tokens:
        report.cost_usd = None  # some call had no known price: unknown, not 0
    elif cost is not None:
        report.cost_usd += cost
