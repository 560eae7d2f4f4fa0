"""Two runs' results joined case by case in SQL, a keyset page at a time.

What the comparison page lists when it shows every paired case (or only those whose
outputs differ): one join on the indexed ``(run_id, case_id, epoch)`` key, ordered by
``(case_id, epoch)``, so page 500 of two 100,000-case runs costs what page 1 does. Only
the few columns a row shows are read; the texts of the rows on screen come after, through
``Store.case_texts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["PairedRow", "paired_rows"]


@dataclass(frozen=True)
class PairedRow:
    """One case present in both runs: each side's verdict and score."""

    case_id: str
    epoch: int
    section: str | None
    baseline_status: str
    candidate_status: str
    baseline_score: float | None
    candidate_score: float | None


def paired_rows(
    store: Store,
    baseline_id: str,
    candidate_id: str,
    *,
    different_only: bool = False,
    after: tuple[str, int] | None = None,
    limit: int = 20,
) -> tuple[list[PairedRow], tuple[str, int] | None]:
    """Up to ``limit`` paired cases after the key ``after``, in key order, and the key to
    continue from (``None`` on the last page). ``different_only``: the cases whose
    outputs (or errors) differ between the runs."""
    ra = t.results.alias("ra")
    rb = t.results.alias("rb")
    q = (
        sa.select(
            ra.c.case_id,
            ra.c.epoch,
            ra.c.section,
            ra.c.status.label("status_a"),
            rb.c.status.label("status_b"),
            ra.c.score.label("score_a"),
            rb.c.score.label("score_b"),
        )
        .select_from(
            ra.join(
                rb,
                sa.and_(
                    rb.c.run_id == candidate_id,
                    rb.c.case_id == ra.c.case_id,
                    rb.c.epoch == ra.c.epoch,
                ),
            )
        )
        .where(ra.c.run_id == baseline_id)
        .order_by(ra.c.case_id, ra.c.epoch)
        .limit(limit + 1)
    )
    if after is not None:
        case_id, epoch = after
        q = q.where(sa.tuple_(ra.c.case_id, ra.c.epoch) > sa.tuple_(case_id, epoch))
    if different_only:
        q = q.where(
            sa.or_(
                ra.c.output.is_distinct_from(rb.c.output),
                ra.c.error_message.is_distinct_from(rb.c.error_message),
            )
        )
    with store.engine.connect() as conn:
        found = conn.execute(q).all()
    rows = [
        PairedRow(
            case_id=r.case_id,
            epoch=r.epoch,
            section=r.section,
            baseline_status=r.status_a,
            candidate_status=r.status_b,
            baseline_score=r.score_a,
            candidate_score=r.score_b,
        )
        for r in found[:limit]
    ]
    more = (rows[-1].case_id, rows[-1].epoch) if len(found) > limit and rows else None
    return rows, more
