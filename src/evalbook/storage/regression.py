"""A run's failing cases as a suite of their own: the regression suite a reviewer keeps
after a bad run ("Save failures as a suite" in the inspector, ``POST
/api/runs/{id}/failures-suite``).

The new suite is the run's suite version with only the cases that failed or errored in
the run (any epoch), under the id ``<suite>-failures`` and the version ``run-<run id>``:
the same prompt versions, scorers and threshold, so a run of it measures the same thing
on the cases that went wrong. Saving twice gives the same version (it is content-
addressed); a run without failures is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.storage import tables as t
from evalbook.storage.catalog import Registration, register_suite
from evalbook.storage.store import Store

__all__ = ["SavedSuite", "failing_case_ids", "save_failures_as_suite"]


@dataclass(frozen=True)
class SavedSuite:
    suite_id: str
    version: str
    name: str
    case_count: int
    state: Registration


def failing_case_ids(store: Store, run_id: str) -> set[str]:
    """The ids of the cases with a failed or errored result in the run (any epoch)."""
    r = t.results.c
    query = sa.select(r.case_id).where(r.run_id == run_id, r.status != "passed").distinct()
    with store.engine.connect() as conn:
        return {row[0] for row in conn.execute(query)}


def save_failures_as_suite(store: Store, workspace_id: str, run: RunRecord) -> SavedSuite:
    """Register the failing cases of ``run`` as a suite version in the workspace."""
    failing = failing_case_ids(store, run.id)
    if not failing:
        raise UserError(f"run {run.id} has no failed or errored case to save")
    source = store.get_suite(run.suite_hash)
    cases = [case for case in source.cases if case.id in failing]
    suite_id = f"{source.id}-failures"[:200]
    version = f"run-{run.id}"
    name = f"{source.name}: failures of run {run.id[:8]}"[:300]
    # The stored definition leaves derived metrics out (not in its hash): the run has them.
    derived = list(run.options.derived_metrics)
    suite = source.model_copy(
        update={
            "id": suite_id,
            "version": version,
            "name": name,
            "cases": cases,
            "derived_metrics": derived,
        }
    )
    _hash, state = register_suite(store, workspace_id, suite)
    if state == "conflict":
        raise UserError(f"suite {suite_id!r} version {version!r} exists here with other cases")
    return SavedSuite(suite_id, version, name, len(cases), state)
