"""Gate two runs named by rule: resolve them, compare them, judge the comparison."""

from __future__ import annotations

from evalbook.analysis.compare.runs import compare_runs
from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.gate.evaluate import Verdict, evaluate
from evalbook.gate.rules import GateRules
from evalbook.storage.run_refs import LATEST, resolve_run
from evalbook.storage.store import Store

__all__ = ["gate", "resolve_pair"]


def resolve_pair(
    store: Store,
    *,
    candidate: str | RunRecord = LATEST,
    baseline: str = LATEST,
    suite_id: str | None = None,
    prompt_name: str | None = None,
) -> tuple[RunRecord, RunRecord]:
    """``(baseline, candidate)``: the candidate first (``latest`` needs ``suite_id``),
    then the baseline relative to it (older, same suite and prompt unless given)."""
    cand = (
        candidate
        if isinstance(candidate, RunRecord)
        else resolve_run(store, candidate, suite_id=suite_id, prompt_name=prompt_name)
    )
    base = resolve_run(
        store, baseline, suite_id=suite_id, prompt_name=prompt_name, relative_to=cand
    )
    if base.id == cand.id:
        raise UserError(f"baseline and candidate are the same run ({cand.id})")
    return base, cand


def gate(
    store: Store,
    *,
    rules: GateRules,
    candidate: str | RunRecord = LATEST,
    baseline: str = LATEST,
    suite_id: str | None = None,
    prompt_name: str | None = None,
) -> Verdict:
    base, cand = resolve_pair(
        store, candidate=candidate, baseline=baseline, suite_id=suite_id, prompt_name=prompt_name
    )
    if rules.max_error_rate is None:  # the candidate's own allowance, as its run applied
        rules = rules.model_copy(update={"max_error_rate": cand.options.max_error_rate})
    return evaluate(compare_runs(store, base, cand), rules)
