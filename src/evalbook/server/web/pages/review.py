"""Human review inside the inspector: score, label and comment a case (``POST
/runs/{id}/review``, a CSRF-checked form; the keyboard's 1–9 fill and send it).

A review is appended exactly as ``evalbook feedback`` appends it (the same
:func:`~evalbook.analysis.feedback.record_feedback`, which refreshes the run's
``feedback_scores``). The answer is the case's review panel again, with the new row.
JSON twin: ``GET /api/runs/{id}/feedback`` (``POST`` there takes the same fields).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.feedback import record_feedback
from evalbook.core.feedback import MAX_COMMENT, Feedback
from evalbook.core.result import Result
from evalbook.core.suite import ScorerKind
from evalbook.errors import EvalbookError, UserError
from evalbook.server.state import server_state
from evalbook.server.web.access import CheckedViewer
from evalbook.server.web.pages.board import RunIdPath
from evalbook.server.web.templating import render
from evalbook.storage.feedback import feedback_of_results
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.store import Store

router = APIRouter()

__all__ = ["ReviewTarget", "review_targets", "router"]


@dataclass(frozen=True)
class ReviewTarget:
    """A criterion a reviewer scores on this result, in its scale."""

    criterion: str
    low: float
    high: float
    awaiting: bool


def review_targets(result: Result, rows: list[Feedback]) -> list[ReviewTarget]:
    """The criteria of the result's ``human`` scorers (``human`` on [0, 1] without one),
    each marked awaiting while no row gives it a score or a label."""
    done = {row.name for row in rows if row.score is not None or row.label is not None}
    targets = []
    for record in result.scores:
        if record.kind is not ScorerKind.human or record.error is not None:
            continue
        details = record.evidence.details or {}
        criterion = str(details.get("criterion") or record.name)
        scale = details.get("scale") or [0, 1]
        low, high = float(scale[0]), float(scale[1])
        targets.append(ReviewTarget(criterion, low, high, criterion not in done))
    if not targets:
        targets.append(ReviewTarget("human", 0.0, 1.0, False))
    return targets


def _text(form: Any, name: str, limit: int) -> str | None:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if len(value) > limit:
        raise UserError(f"{name}: at most {limit} characters")
    return value


def _score(form: Any) -> float | None:
    raw = _text(form, "score", 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise UserError(f"score: a number, got {raw!r}") from None
    if not math.isfinite(value):
        raise UserError("score: a finite number")
    return value


def _panel(store: Store, run_id: str, case_id: str, epoch: int) -> dict[str, Any]:
    result = store.get_result(run_id, case_id, epoch)
    rows = feedback_of_results(store, [result.id]).get(result.id, [])
    return {"r": result, "reviews": rows, "targets": review_targets(result, rows)}


@router.post("/runs/{run_id}/review")
async def review(request: Request, viewer: CheckedViewer, run_id: RunIdPath) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id
    form = await request.form()
    case_id = _text(form, "case_id", 300)
    epoch_text = _text(form, "epoch", 10) or "0"

    def save() -> tuple[dict[str, Any], str | None]:
        run = get_workspace_run(store, workspace_id, run_id).run
        if case_id is None:
            raise UserError("case_id: which case is reviewed")
        if not epoch_text.isdigit():
            raise UserError(f"epoch: a whole number, got {epoch_text!r}")
        epoch = int(epoch_text)
        problem = None
        try:
            score, label = _score(form), _text(form, "label", 200)
            comment = _text(form, "comment", MAX_COMMENT)
            if score is None and label is None and comment is None:
                raise UserError("give a score, a label or a comment")
            record_feedback(
                store,
                run.id,
                case_id,
                epoch=epoch,
                name=_text(form, "name", 200) or "human",
                score=score,
                label=label,
                comment=comment,
                author=_text(form, "author", 200),
            )
        except EvalbookError as exc:
            problem = str(exc)
        context = _panel(store, run.id, case_id, epoch)
        context["run"] = run
        return context, problem

    context, problem = await run_in_threadpool(save)
    if request.headers.get("HX-Request") != "true":
        if problem is not None:
            raise UserError(problem)
        query = urlencode({"case": case_id, **({"epoch": epoch_text} if epoch_text != "0" else {})})
        return RedirectResponse(f"/runs/{run_id}?{query}", status_code=303)
    # 200 either way: htmx swaps the panel, which shows the problem beside the form.
    context.update(problem=problem, saved=problem is None)
    return render(request, "_review.html", context, viewer=viewer)
