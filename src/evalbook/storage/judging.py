"""What a workspace's judges did: its runs that have ``llm_judge`` verdicts, and its
pairwise comparisons — the lists of the judges page (``/judges``, ``GET /api/judges``).

A pairwise comparison belongs to a workspace when both its runs do; one whose runs are
another workspace's is "not found", as a run is.
"""

from __future__ import annotations

import sqlalchemy as sa

from evalbook.core.pairwise import PairwiseComparison, PairwiseJudgment
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.storage import tables as t
from evalbook.storage.pairwise import get_comparison
from evalbook.storage.rows import row_to_run
from evalbook.storage.store import Store

__all__ = [
    "judged_runs",
    "judgment_page",
    "parse_after",
    "workspace_pairwise",
    "workspace_pairwise_list",
]


def judged_runs(store: Store, workspace_id: str, *, limit: int = 30) -> list[RunRecord]:
    """The newest finished runs of the workspace with at least one ``llm_judge`` verdict
    (among its ``limit * 4`` newest finished runs: a workspace of many runs lists its
    recent judging, not its whole history)."""
    c, s = t.runs.c, t.scores.c
    recent = (
        sa.select(c.id)
        .where(
            c.workspace_id == workspace_id,
            c.status.in_(("completed", "failed", "canceled")),
            c.archived_at.is_(None),
        )
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit * 4)
        .subquery()
    )
    judged = sa.exists(
        sa.select(sa.literal(1)).where(s.run_id == t.runs.c.id, s.kind == "llm_judge")
    )
    q = (
        sa.select(t.runs)
        .where(c.id.in_(sa.select(recent.c.id)), judged)
        .order_by(c.created_at.desc(), c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [row_to_run(row) for row in conn.execute(q).all()]


def _in_workspace(workspace_id: str) -> sa.ColumnElement[bool]:
    p, r = t.pairwise_comparisons.c, t.runs.c
    mine = sa.select(r.id).where(r.workspace_id == workspace_id)
    return sa.and_(p.baseline_run_id.in_(mine), p.candidate_run_id.in_(mine))


def workspace_pairwise_list(
    store: Store, workspace_id: str, *, limit: int = 50
) -> list[PairwiseComparison]:
    """The workspace's pairwise comparisons, newest first."""
    p = t.pairwise_comparisons.c
    q = (
        sa.select(t.pairwise_comparisons)
        .where(_in_workspace(workspace_id))
        .order_by(p.created_at.desc(), p.id)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [get_comparison(store, row.id) for row in rows]


def workspace_pairwise(store: Store, workspace_id: str, comparison_id: str) -> PairwiseComparison:
    """One pairwise comparison by its exact id, if the workspace owns both its runs."""
    p = t.pairwise_comparisons.c
    q = sa.select(p.id).where(p.id == comparison_id, _in_workspace(workspace_id))
    with store.engine.connect() as conn:
        found = conn.execute(q).first()
    if found is None:
        raise NotFoundError(f"no pairwise comparison {comparison_id!r}")
    return get_comparison(store, comparison_id)


def judgment_page(
    store: Store,
    comparison_id: str,
    *,
    after: tuple[str, int] | None = None,
    outcome: str | None = None,
    limit: int = 50,
) -> tuple[list[PairwiseJudgment], tuple[str, int] | None]:
    """Up to ``limit`` judgments after the key ``after`` (by ``(case_id, epoch)``),
    only those of ``outcome`` when given, and the key to continue from."""
    j = t.pairwise_judgments.c
    q = sa.select(t.pairwise_judgments).where(j.comparison_id == comparison_id)
    if after is not None:
        q = q.where(sa.tuple_(j.case_id, j.epoch) > sa.tuple_(after[0], after[1]))
    if outcome is not None:
        q = q.where(j.outcome == outcome)
    with store.engine.connect() as conn:
        rows = conn.execute(q.order_by(j.case_id, j.epoch).limit(limit + 1)).all()
    found = []
    for row in rows[:limit]:
        data = dict(row._mapping)
        data.pop("comparison_id")
        found.append(PairwiseJudgment.model_validate(data))
    more = (found[-1].case_id, found[-1].epoch) if len(rows) > limit and found else None
    return found, more


def parse_after(after: str | None) -> tuple[str, int] | None:
    """The ``(case_id, epoch)`` after which a page of judgments starts, from the
    ``EPOCH:CASE_ID`` cursor of the previous page (None: from the start)."""
    if not after:
        return None
    epoch, _, case_id = after.partition(":")
    if not epoch.isdigit():
        raise UserError("after: expected EPOCH:CASE_ID")
    return case_id, int(epoch)
