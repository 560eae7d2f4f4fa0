"""Runs: submit (202, queued for the worker pool), list with filters, read, cancel, resume,
archive. Every run belongs to the workspace of the key that made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic_core import to_json

from evalbook.core.run import RunStatus
from evalbook.errors import UserError
from evalbook.executor.lease import owner_gone
from evalbook.io.report import render_report
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.launching import estimate, launch
from evalbook.server.routes._common import (
    CursorQuery,
    IdempotencyKey,
    LimitQuery,
    RunId,
    StoreDep,
    decode_cursor,
    encode_cursor,
    next_url,
    text_query,
)
from evalbook.server.schemas.common import INT32, ErrorOut
from evalbook.server.schemas.runs import (
    EstimateOut,
    FailuresSuiteOut,
    RunCreate,
    RunOut,
    RunPage,
    run_out_items,
)
from evalbook.server.state import quick_read, server_state
from evalbook.storage.regression import save_failures_as_suite
from evalbook.storage.runs import (
    RunFilter,
    get_workspace_run,
    list_workspace_rows,
    resume_refusal,
    set_archived,
)

router = APIRouter(prefix="/api/runs", tags=["runs"])

_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "Not possible in the run's state"}
}
Text = Annotated[str | None, text_query("Exact match")]


@router.post(
    "",
    status_code=202,
    responses={
        200: {"model": RunOut, "description": "The run an earlier request with this key made"}
    },
)
async def create_run(
    body: RunCreate,
    request: Request,
    response: Response,
    workspace: CurrentWorkspace,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> RunOut:
    """Validate and record a ``pending`` run, queue it for the worker pool and answer 202
    with it (``Location``: the run). Everything that would fail every case (unknown
    suite, prompt version, case ids, missing template variables, unknown provider, a
    model config the policy refuses) is a 422 now, not a failed run later."""

    found, created = await launch(request, workspace, body, idempotency_key)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/runs/{found.run.id}"
    return RunOut.of(found)


@router.post("/estimate")
def estimate_run(body: RunCreate, workspace: CurrentWorkspace, store: StoreDep) -> EstimateOut:
    """What the run ``body`` describes would cost, before launching it: items, input
    tokens (from rendered prompts), output tokens at worst (``max_tokens`` each) and as
    earlier runs of the suite with this model averaged, and the dollars of each when the
    model's price is known. The same problems as ``POST /api/runs`` are a 422; nothing is
    recorded."""
    return EstimateOut.of(estimate(store, workspace.id, body))


# The read routes are async and ask the database in one trip through the thread pool: a
# sync route costs a hop for the route and another for checking its answer.


@router.get("", response_model=RunPage)
async def list_runs(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    suite: Annotated[str | None, text_query("Suite id")] = None,
    prompt: Annotated[str | None, text_query("Prompt name")] = None,
    prompt_version: Annotated[int | None, Query(ge=1, le=INT32)] = None,
    alias: Text = None,
    status: RunStatus | None = None,
    tag: Annotated[str | None, text_query("Runs carrying this tag")] = None,
    model: Annotated[str | None, text_query("`provider:name` or the model's name")] = None,
    q: Annotated[
        str | None, text_query("Text in the id, title, alias, label, suite or prompt")
    ] = None,
    finished: Annotated[
        bool, Query(description="Only completed, failed and canceled runs")
    ] = False,
    created_after: Annotated[datetime | None, Query(description="Inclusive")] = None,
    created_before: Annotated[datetime | None, Query(description="Exclusive")] = None,
    archived: Annotated[
        bool, Query(description="List archived runs instead of the live ones")
    ] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Response:
    """The workspace's runs, newest first, one page at a time (follow ``next``)."""
    after = None
    if cursor is not None:
        position = decode_cursor(cursor)
        try:
            after = (datetime.fromisoformat(position[0]), str(position[1]))
        except (IndexError, TypeError, ValueError):
            raise UserError("cursor: not a cursor this server gave out") from None
    flt = RunFilter(
        suite_id=suite,
        prompt=prompt,
        prompt_version=prompt_version,
        alias=alias,
        status=status.value if status else None,
        tag=tag,
        model=model,
        q=q,
        finished=finished,
        created_after=created_after,
        created_before=created_before,
        archived=archived,
    )

    def page() -> bytes:
        # The page's JSON made from the rows where they are read (``quick_read``), and no
        # record or response model built for what RunPage would serialise anyway.
        found = list_workspace_rows(store, workspace.id, flt, limit=limit + 1, after=after)
        items = run_out_items(found[:limit], owner_gone)
        next_link = None
        if len(found) > limit:
            last = items[-1]
            created = last["created_at"]
            at = created if isinstance(created, str) else created.isoformat()
            next_link = next_url(request, cursor=encode_cursor([at, last["id"]]))
        return to_json({"items": items, "next": next_link})

    return Response(await quick_read(store, page), media_type="application/json")


@router.get("/{run_id}")
async def get_run(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> RunOut:
    """One run: its status, counts, score and metrics summary as they stand now."""
    found = await quick_read(
        store, lambda: get_workspace_run(store, workspace.id, run_id, gone=owner_gone)
    )
    return RunOut.of(found)


@router.post("/{run_id}/cancel")
def cancel_run(
    run_id: RunId, request: Request, workspace: CurrentWorkspace, store: StoreDep
) -> RunOut:
    """Cancel a run: a run nobody started is ``canceled`` at once; a running one is asked
    to stop (its worker lets finished results land, then marks it ``canceled``); an
    interrupted one (its process is gone) is summarised from the results it recorded and
    ``canceled`` now. A finished run is left as it is."""
    get_workspace_run(store, workspace.id, run_id)
    server_state(request).dispatcher.cancel(run_id)
    return RunOut.of(get_workspace_run(store, workspace.id, run_id, gone=owner_gone))


@router.post("/{run_id}/resume", status_code=202, responses=_CONFLICT)
def resume_run(
    run_id: RunId, request: Request, workspace: CurrentWorkspace, store: StoreDep
) -> RunOut:
    """Queue a failed or canceled run (or a completed one with errored cases) again: the
    worker re-runs only the cases that are missing or errored, under the same run id."""
    run = get_workspace_run(store, workspace.id, run_id).run
    refusal = resume_refusal(store, run)
    if refusal is not None:
        raise HTTPException(409, refusal)
    if not server_state(request).dispatcher.requeue(run.id):
        raise HTTPException(409, f"run {run.id} changed state meanwhile; read it again")
    return RunOut.of(get_workspace_run(store, workspace.id, run_id))


@router.post("/{run_id}/archive", responses=_CONFLICT)
def archive_run(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> RunOut:
    """Hide a finished run from the default lists (``GET /api/runs?archived=true`` shows
    it); the record itself is kept, unchanged."""
    run = get_workspace_run(store, workspace.id, run_id).run
    if not run.status.finished:
        raise HTTPException(409, f"run {run.id} is {run.status.value}; archive it once finished")
    set_archived(store, run.id, True)
    return RunOut.of(get_workspace_run(store, workspace.id, run_id))


@router.post("/{run_id}/unarchive")
def unarchive_run(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> RunOut:
    """Bring an archived run back to the default lists."""
    get_workspace_run(store, workspace.id, run_id)
    set_archived(store, run_id, False)
    return RunOut.of(get_workspace_run(store, workspace.id, run_id))


@router.post("/{run_id}/failures-suite", status_code=201)
def failures_suite(
    run_id: RunId, response: Response, workspace: CurrentWorkspace, store: StoreDep
) -> FailuresSuiteOut:
    """Register the run's failed and errored cases as a suite version of their own
    (``<suite>-failures``, version ``run-<run id>``): the regression suite to run next.
    Saving again answers 200 with the same version."""
    run = get_workspace_run(store, workspace.id, run_id).run
    saved = save_failures_as_suite(store, workspace.id, run)
    if saved.state != "created":
        response.status_code = 200
    response.headers["Location"] = f"/api/suites/{saved.suite_id}/versions/{saved.version}"
    return FailuresSuiteOut(
        suite_id=saved.suite_id,
        version=saved.version,
        name=saved.name,
        case_count=saved.case_count,
        created=saved.state == "created",
    )


#: The report is one self-contained file: its own inline style, no script, no requests.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'"


@router.get(
    "/{run_id}/report",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
def run_report(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> HTMLResponse:
    """The run's HTML report, as ``evalbook report`` writes it (one self-contained file)."""
    run = get_workspace_run(store, workspace.id, run_id).run
    return HTMLResponse(
        render_report(store, run),
        headers={
            "Content-Security-Policy": REPORT_CSP,
            "Content-Disposition": f'inline; filename="{run.id}.html"',
        },
    )
