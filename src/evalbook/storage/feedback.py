"""Queries of human feedback: appended as rows of their own, never updated or deleted.

A finished run is a permanent record; feedback is the one thing added to it later. A run
still executing takes feedback too, on every result it has recorded: a review is a row of
its own, and the executor never writes the run's feedback summary. Each
call of :func:`add_feedback` inserts one row, so a reviewer who changes their mind adds a
second row and the first stays on record (the summaries read the latest per author). The
only column of the run row that feedback touches is the derived ``feedback_scores``
summary, written by :func:`set_feedback_scores` alone so that no other field is rewritten.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from evalbook.core.feedback import Feedback, latest_scores
from evalbook.errors import NotFoundError, UserError
from evalbook.storage import tables as t
from evalbook.storage.rows import as_utc
from evalbook.storage.store import Store

__all__ = [
    "KindRecord",
    "add_feedback",
    "feedback_of_results",
    "latest_feedback",
    "list_feedback",
    "records_of_kind",
    "set_feedback_scores",
]

_ONE_TICK = timedelta(microseconds=1)


def add_feedback(
    store: Store,
    run_id: str,
    case_id: str,
    *,
    epoch: int = 0,
    name: str = "human",
    score: float | None = None,
    label: str | None = None,
    comment: str | None = None,
    author: str | None = None,
) -> Feedback:
    """Append one piece of feedback on the result ``(run, case_id, epoch)`` and return it.

    ``run_id`` may be an id prefix. Unknown runs and cases raise
    :class:`~evalbook.errors.NotFoundError` naming them; feedback that says nothing, a
    non-finite score or an over-long comment raise :class:`~evalbook.errors.UserError`.
    A run still pending or running takes feedback on the results it has recorded (a case
    not answered yet is a :class:`~evalbook.errors.NotFoundError` saying so). Rows of one
    result are strictly ordered by ``created_at`` (a later row is stamped at least a
    microsecond after the one before), so "latest" is never a tie.
    """
    run = store.get_run(run_id)
    now = datetime.now(UTC)
    with store.write() as conn:
        result_id = _result_id(conn, run.id, case_id, epoch, still=not run.status.finished)
        last = conn.execute(
            sa.select(sa.func.max(t.feedback.c.created_at)).where(
                t.feedback.c.result_id == result_id
            )
        ).scalar_one_or_none()
        if last is not None and now <= as_utc(last):
            now = as_utc(last) + _ONE_TICK
        try:
            row = Feedback(
                id=str(uuid.uuid4()),
                run_id=run.id,
                result_id=result_id,
                case_id=case_id,
                epoch=epoch,
                name=name,
                score=score,
                label=label,
                comment=comment,
                author=author,
                created_at=now,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'feedback'}: {err['msg']}"
                for err in exc.errors()
            )
            raise UserError(f"feedback on case {case_id!r} of run {run.id}: {problems}") from None
        conn.execute(sa.insert(t.feedback), [row.model_dump()])
    return row


def _result_id(
    conn: sa.Connection, run_id: str, case_id: str, epoch: int, *, still: bool = False
) -> str:
    r = t.results.c
    epochs = sorted(
        conn.execute(sa.select(r.epoch).where(r.run_id == run_id, r.case_id == case_id)).scalars()
    )
    yet = " yet (the run is still executing; review it once it is answered)" if still else ""
    if not epochs:
        raise NotFoundError(f"run {run_id} has no case {case_id!r}{yet}")
    if epoch not in epochs:
        raise NotFoundError(
            f"run {run_id} has no epoch {epoch} of case {case_id!r}"
            f" (recorded epochs: {', '.join(map(str, epochs))}){yet}"
        )
    found: str = conn.execute(
        sa.select(r.id).where(r.run_id == run_id, r.case_id == case_id, r.epoch == epoch)
    ).scalar_one()
    return found


def list_feedback(
    store: Store,
    run_id: str,
    *,
    case_id: str | None = None,
    epoch: int | None = None,
    name: str | None = None,
) -> list[Feedback]:
    """Every feedback row of a run (full id), oldest first; optionally one case, epoch
    or name only."""
    f = t.feedback.c
    q = sa.select(t.feedback).where(f.run_id == run_id)
    if case_id is not None:
        q = q.where(f.case_id == case_id)
    if epoch is not None:
        q = q.where(f.epoch == epoch)
    if name is not None:
        q = q.where(f.name == name)
    with store.engine.connect() as conn:
        rows = conn.execute(q.order_by(f.created_at, f.id)).all()
    return [
        Feedback.model_validate({**r._mapping, "created_at": as_utc(r.created_at)}) for r in rows
    ]


def feedback_of_results(store: Store, result_ids: Sequence[str]) -> dict[str, list[Feedback]]:
    """``result_id → feedback rows`` (oldest first) of a few results (a page of them)."""
    if not result_ids:
        return {}
    f = t.feedback.c
    q = sa.select(t.feedback).where(f.result_id.in_(list(result_ids)))
    with store.engine.connect() as conn:
        rows = conn.execute(q.order_by(f.created_at, f.id)).all()
    out: dict[str, list[Feedback]] = {}
    for r in rows:
        row = Feedback.model_validate({**r._mapping, "created_at": as_utc(r.created_at)})
        out.setdefault(row.result_id, []).append(row)
    return out


def latest_feedback(store: Store, run_id: str, *, name: str | None = None) -> list[Feedback]:
    """The latest scored row per (result, name, author), oldest first (see
    :func:`~evalbook.core.feedback.latest_scores`): what feedback means count."""
    return latest_scores(list_feedback(store, run_id, name=name))


def set_feedback_scores(store: Store, run_id: str, summary: str | None) -> None:
    """Write the run's derived ``feedback_scores`` (and nothing else of the run row)."""
    with store.write() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(feedback_scores=summary))


@dataclass(frozen=True)
class KindRecord:
    """The parts of one score record that feedback summaries need."""

    result_id: str
    case_id: str
    epoch: int
    name: str
    kind: str
    score: float | None
    passed: bool | None
    threshold: float | None
    error: str | None
    details: dict[str, Any]
    config: dict[str, Any]


def records_of_kind(store: Store, run_id: str, kinds: Sequence[str]) -> list[KindRecord]:
    """The score records of a run whose scorer kind is one of ``kinds`` (``human``,
    ``llm_judge``), in plan order, without rebuilding whole results."""
    s, r = t.scores.c, t.results.c
    q = (
        sa.select(
            s.result_id,
            r.case_id,
            r.epoch,
            s.name,
            s.kind,
            s.score,
            s.passed,
            s.threshold,
            s.error,
            s.evidence,
            s.spec,
        )
        .join(t.results, r.id == s.result_id)
        .where(s.run_id == run_id, s.kind.in_(list(kinds)))
        .order_by(r.seq, s.scorer_id)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    return [
        KindRecord(
            result_id=row.result_id,
            case_id=row.case_id,
            epoch=row.epoch,
            name=row.name,
            kind=row.kind,
            score=row.score,
            passed=row.passed,
            threshold=row.threshold,
            error=row.error,
            details=dict((row.evidence or {}).get("details") or {}),
            config=dict((row.spec or {}).get("config") or {}),
        )
        for row in rows
    ]
