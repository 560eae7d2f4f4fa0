"""What the workspace is doing now: the dashboard's and the runs board's JSON (the web
pages ``/`` and ``/runs`` render the same queries)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from evalbook.executor.lease import owner_gone
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.launch_options import launch_options
from evalbook.server.routes._common import StoreDep
from evalbook.server.schemas.activity import (
    BoardOut,
    CardOut,
    DashboardOut,
    GridOut,
    LaunchOptionsOut,
    ReadinessOut,
    SavedModelOut,
    SuiteChoice,
)
from evalbook.server.schemas.runs import RunOut
from evalbook.storage.activity import (
    active_runs,
    compare_readiness,
    newest_failure,
    progress_grid,
    recent_completions,
)
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.workspace_events import last_event_id

router = APIRouter(prefix="/api", tags=["activity"])


@router.get("/dashboard")
def dashboard(workspace: CurrentWorkspace, store: StoreDep) -> DashboardOut:
    """Active runs, recent completions, suites ready to compare and the newest run that
    did not pass."""
    cursor = last_event_id(store)  # first: events after it may repeat, never go missing
    active = active_runs(store, workspace.id, recent_s=0, gone=owner_gone)
    return DashboardOut(
        active=[RunOut.of(r) for r in active],
        cards=[
            CardOut(run=RunOut.of(r), grid=GridOut.of(progress_grid(store, r.run))) for r in active
        ],
        recent=recent_completions(store, workspace.id),
        readiness=[ReadinessOut.of(r) for r in compare_readiness(store, workspace.id)],
        newest_failure=newest_failure(store, workspace.id),
        last_event_id=cursor,
    )


@router.get("/board")
def board(workspace: CurrentWorkspace, store: StoreDep) -> BoardOut:
    """The runs board: pending and running runs and those finished in the last 15
    minutes, each with its progress grid."""
    cursor = last_event_id(store)  # first: events after it may repeat, never go missing
    cards = [
        CardOut(run=RunOut.of(found), grid=GridOut.of(progress_grid(store, found.run)))
        for found in active_runs(store, workspace.id, gone=owner_gone)
    ]
    return BoardOut(cards=cards, last_event_id=cursor)


@router.get("/launch-options")
def get_launch_options(
    workspace: CurrentWorkspace,
    store: StoreDep,
    from_: Annotated[
        str | None,
        Query(alias="from", max_length=64, pattern=r"^[0-9A-Za-z_-]+$", description="A run"),
    ] = None,
) -> LaunchOptionsOut:
    """What the launch sheet offers: providers, the workspace's suite versions, the model
    configs its runs used (newest first) and, with ``from``, that run to start from."""
    options = launch_options(store, workspace.id)
    source = RunOut.of(get_workspace_run(store, workspace.id, from_)) if from_ else None
    return LaunchOptionsOut(
        providers=options.providers,
        suites=[
            SuiteChoice(suite_id=r.suite_id, version=r.version, name=r.name, cases=r.case_count)
            for r in options.suites
        ],
        models=[
            SavedModelOut(
                hash=m.hash, label=options.label(m.config), config=m.config, last_used=m.last_used
            )
            for m in options.models
        ],
        source=source,
        judge_criteria=list(options.criteria),
    )
