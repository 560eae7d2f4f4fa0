"""Queries of pairwise comparisons: the pairs to judge, and the judgments as records.

A comparison row is written first (its summary says ``running``), its judgments are
appended in batches as they are made, and the summary is written last — so an
interrupted comparison is visible as such, and its judgments so far are kept. Both runs
stay untouched: a comparison is a record of its own that points at them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from evalbook.core.pairwise import PairwiseComparison, PairwiseJudgment
from evalbook.errors import NotFoundError, UserError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store
from evalbook.storage.stored_values import without_nul

__all__ = [
    "PairedRow",
    "add_judgments",
    "create_comparison",
    "finish_comparison",
    "get_comparison",
    "iter_judgments",
    "list_comparisons",
    "pair_counts",
    "paired_rows",
]


@dataclass(frozen=True)
class PairedRow:
    """One ``(case_id, epoch)`` both runs answered: what a pairwise judge needs."""

    seq: int  # the candidate result's plan position (the page key)
    case_id: str
    epoch: int
    prompt: str | None
    expected: str | None
    candidate_status: str
    candidate_output: str | None
    baseline_status: str
    baseline_output: str | None
    baseline_prompt: str | None
    baseline_expected: str | None


def paired_rows(
    store: Store, baseline_id: str, candidate_id: str, *, after_seq: int = -1, limit: int = 500
) -> list[PairedRow]:
    """The next ``limit`` pairs after the candidate's plan position ``after_seq``, in the
    candidate's plan order (a page; call again with the last ``seq`` until empty)."""
    c, b = t.results.alias("c"), t.results.alias("b")
    q = (
        sa.select(
            c.c.seq,
            c.c.case_id,
            c.c.epoch,
            c.c.prompt,
            c.c.expected,
            c.c.status,
            c.c.output,
            b.c.status.label("b_status"),
            b.c.output.label("b_output"),
            b.c.prompt.label("b_prompt"),
            b.c.expected.label("b_expected"),
        )
        .join(
            b,
            sa.and_(b.c.run_id == baseline_id, b.c.case_id == c.c.case_id, b.c.epoch == c.c.epoch),
        )
        .where(c.c.run_id == candidate_id, c.c.seq > after_seq)
        .order_by(c.c.seq)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        PairedRow(
            seq=r.seq,
            case_id=r.case_id,
            epoch=r.epoch,
            prompt=r.prompt,
            expected=r.expected,
            candidate_status=r.status,
            candidate_output=r.output,
            baseline_status=r.b_status,
            baseline_output=r.b_output,
            baseline_prompt=r.b_prompt,
            baseline_expected=r.b_expected,
        )
        for r in rows
    ]


def pair_counts(store: Store, baseline_id: str, candidate_id: str) -> tuple[int, int, int]:
    """``(paired, only in the baseline, only in the candidate)`` counts of results."""
    r = t.results.c
    c, b = t.results.alias("c"), t.results.alias("b")
    joined = (
        sa.select(sa.func.count())
        .select_from(c)
        .join(
            b,
            sa.and_(b.c.run_id == baseline_id, b.c.case_id == c.c.case_id, b.c.epoch == c.c.epoch),
        )
        .where(c.c.run_id == candidate_id)
    )
    with store.engine.connect() as conn:
        paired = int(conn.execute(joined).scalar_one())
        totals = {
            run_id: int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(t.results).where(r.run_id == run_id)
                ).scalar_one()
            )
            for run_id in (baseline_id, candidate_id)
        }
    return paired, totals[baseline_id] - paired, totals[candidate_id] - paired


def create_comparison(
    store: Store,
    *,
    baseline_run_id: str,
    candidate_run_id: str,
    criterion: str,
    judge: dict[str, Any],
    template: str,
) -> PairwiseComparison:
    """Record a new comparison (summary ``{"status": "running"}``) and return it."""
    record = PairwiseComparison(
        id=str(uuid.uuid4()),
        baseline_run_id=baseline_run_id,
        candidate_run_id=candidate_run_id,
        criterion=criterion,
        judge=judge,
        template=template,
        summary={"status": "running"},
        created_at=datetime.now(UTC),
    )
    with store.write() as conn:
        conn.execute(sa.insert(t.pairwise_comparisons), [record.model_dump()])
    return record


def add_judgments(store: Store, comparison_id: str, judgments: Sequence[PairwiseJudgment]) -> None:
    """Append judgments of a comparison, in one transaction."""
    if not judgments:
        return
    # A judge's words are model output: a NUL in them (refused by PostgreSQL) becomes U+FFFD.
    rows = [without_nul({"comparison_id": comparison_id, **j.model_dump()}) for j in judgments]
    with store.write() as conn:
        conn.execute(sa.insert(t.pairwise_judgments), rows)


def finish_comparison(store: Store, comparison_id: str, summary: dict[str, Any]) -> None:
    """Write a comparison's summary (and nothing else of its row)."""
    with store.write() as conn:
        conn.execute(
            sa.update(t.pairwise_comparisons)
            .where(t.pairwise_comparisons.c.id == comparison_id)
            .values(summary=summary)
        )


def get_comparison(store: Store, comparison_id: str) -> PairwiseComparison:
    """A comparison by id or unambiguous id prefix (at least 4 characters)."""
    c = t.pairwise_comparisons.c
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(t.pairwise_comparisons).where(c.id == comparison_id)).first()
        if row is None and len(comparison_id) >= 4:
            rows = conn.execute(
                sa.select(t.pairwise_comparisons)
                .where(c.id.startswith(comparison_id, autoescape=True))
                .limit(2)
            ).all()
            if len(rows) > 1:
                raise UserError(
                    f"comparison id prefix {comparison_id!r} is ambiguous; give more characters"
                )
            row = rows[0] if rows else None
    if row is None:
        raise NotFoundError(f"no pairwise comparison {comparison_id!r} in {store.location}")
    return _comparison(row)


def list_comparisons(store: Store, run_id: str | None = None) -> list[PairwiseComparison]:
    """Comparisons (of ``run_id`` on either side, when given), newest first."""
    c = t.pairwise_comparisons.c
    q = sa.select(t.pairwise_comparisons).order_by(c.created_at.desc(), c.id)
    if run_id is not None:
        q = q.where(sa.or_(c.baseline_run_id == run_id, c.candidate_run_id == run_id))
    with store.engine.connect() as conn:
        return [_comparison(r) for r in conn.execute(q).all()]


def iter_judgments(
    store: Store, comparison_id: str, *, batch_size: int = 1000
) -> Iterator[PairwiseJudgment]:
    """A comparison's judgments ordered by ``(case_id, epoch)``, streamed in batches."""
    j = t.pairwise_judgments.c
    after: tuple[str, int] | None = None
    while True:
        q = sa.select(t.pairwise_judgments).where(j.comparison_id == comparison_id)
        if after is not None:
            q = q.where(sa.tuple_(j.case_id, j.epoch) > sa.tuple_(*after))
        with store.engine.connect() as conn:
            rows = conn.execute(q.order_by(j.case_id, j.epoch).limit(batch_size)).all()
        if not rows:
            return
        for row in rows:
            data = dict(row._mapping)
            data.pop("comparison_id")
            yield PairwiseJudgment.model_validate(data)
        after = (rows[-1].case_id, rows[-1].epoch)


def _comparison(row: Any) -> PairwiseComparison:
    data = dict(row._mapping)
    data["created_at"] = as_utc(data["created_at"])
    return PairwiseComparison.model_validate(data)
