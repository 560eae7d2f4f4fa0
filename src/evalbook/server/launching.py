"""The one way the server starts a run: ``POST /api/runs`` and the web launch sheet both
call :func:`launch` with a :class:`~evalbook.server.schemas.runs.RunCreate`, so a run
launched from a browser is composed exactly as one posted by a script (validated by
``prepare_run``, recorded, handed to the server's dispatcher; idempotent)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from evalbook.core.run import RunOptions
from evalbook.core.suite import DerivedMetric, Suite
from evalbook.errors import NotFoundError, UserError
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.executor.estimate import Estimate, estimate_run
from evalbook.executor.launch import Queued, RunJob, prepare_run
from evalbook.server.schemas.models import model_from_request, model_or_tier
from evalbook.server.schemas.runs import JudgeIn, RunCreate
from evalbook.server.state import server_state
from evalbook.storage.catalog import (
    SuiteRef,
    register_suite,
    registered_derived_metrics,
    suite_refs,
)
from evalbook.storage.queue import find_idempotent
from evalbook.storage.rows import as_utc
from evalbook.storage.runs import WorkspaceRun, get_workspace_run
from evalbook.storage.store import Store
from evalbook.storage.workspaces import Workspace
from evalbook.suites.derive import JUDGED, suite_with_judge

__all__ = ["Queued", "estimate", "latest_ref", "launch", "registered_suite", "submit_run"]


def latest_ref(store: Store, workspace_id: str, suite_id: str, version: str | None) -> SuiteRef:
    """A suite version of the workspace (when ``version`` is ``None``, the latest that is
    not a judged version: see ``suites.derive.JUDGED``)."""
    refs = suite_refs(store, workspace_id, suite_id)
    if version is not None:
        refs = [r for r in refs if r.version == version]
    else:
        refs = [r for r in refs if JUDGED not in r.version] or refs
    if not refs:
        which = f"suite {suite_id!r}" + (f" version {version!r}" if version else "")
        raise NotFoundError(f"no {which} in this workspace")
    return refs[-1]


def registered_suite(store: Store, workspace_id: str, ref: SuiteRef) -> Suite:
    """The suite version ``ref`` as the workspace registered it: the stored definition
    leaves the suite's derived metrics out (they are not part of its content hash), the
    workspace's registration holds them."""
    suite = store.get_suite(ref.hash)
    derived = registered_derived_metrics(store, workspace_id, ref.suite_id, ref.version)
    if derived and not suite.derived_metrics:
        suite = suite.model_copy(update={"derived_metrics": derived})
    return suite


def _options(body: RunCreate) -> RunOptions:
    return RunOptions(
        concurrency=body.concurrency,
        epochs=body.epochs,
        case_ids=body.cases,
        max_cost=body.max_cost,
        use_cache=body.use_cache,
        max_attempts=body.max_attempts,
        retry_budget_s=body.retry_budget_s,
        max_error_rate=body.max_error_rate,
        derived_metrics=[
            DerivedMetric(name=m.name, expression=m.expression) for m in body.derived_metrics or ()
        ],
    )


def judged(suite: Suite, judge: JudgeIn) -> Suite:
    """``suite`` with the request's judge added (see :class:`JudgeIn`); the judge model
    passes the same policy as the run's own (``judge.model`` names it in errors)."""
    config = model_from_request(judge.model, "judge.model")
    fields = config.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return suite_with_judge(
        suite, {"provider": config.provider, "name": config.name, **fields},
        rubric=judge.rubric, criteria=judge.criteria,
    )  # fmt: skip


def _suite(
    store: Store, workspace_id: str, body: RunCreate, *, register: bool, base: Suite | None = None
) -> tuple[Suite, str | None]:
    """The suite version the run uses: the one asked for (or ``base``, a version not
    registered yet: an uploaded dataset's), or with ``body.judge``, its judged version
    (registered in the workspace when ``register``: a launch, not an estimate); and its
    content hash when known already (a registered version's: not taken again)."""
    if base is not None:
        return _judged(store, workspace_id, body, base, None, register)
    ref = latest_ref(store, workspace_id, body.suite_id, body.suite_version)
    return _judged(
        store, workspace_id, body, registered_suite(store, workspace_id, ref), ref.hash, register
    )


def _judged(
    store: Store,
    workspace_id: str,
    body: RunCreate,
    suite: Suite,
    suite_hash: str | None,
    register: bool,
) -> tuple[Suite, str | None]:
    if body.judge is None:
        return suite, suite_hash
    suite = judged(suite, body.judge)
    if not register:
        return suite, None
    suite_hash, state = register_suite(store, workspace_id, suite)
    if state == "conflict":  # pragma: no cover - the version is content-addressed
        raise UserError(f"suite {suite.id!r} version {suite.version!r} exists here")
    return suite, suite_hash


def estimate(
    store: Store, workspace_id: str, body: RunCreate, *, suite: Suite | None = None
) -> Estimate:
    """The pre-flight estimate of the run ``body`` describes (nothing is recorded); with
    ``suite``, of that suite version instead of ``body``'s (a dataset not uploaded yet)."""
    config = model_or_tier(body.model)
    return estimate_run(
        store,
        _suite(store, workspace_id, body, register=False, base=suite)[0],
        model=config,
        prompt_version=body.prompt_version,
        options=_options(body),
    )


async def launch(
    request: Request, workspace: Workspace, body: RunCreate, key: str | None = None
) -> tuple[WorkspaceRun, bool]:
    """Validate, record and queue the run ``body`` describes; see :func:`submit_run`."""
    store = server_state(request).store

    def prepare(queued: Queued) -> RunJob:
        config = model_or_tier(body.model)
        suite, suite_hash = _suite(store, workspace.id, body, register=True)
        return prepare_run(
            store,
            suite,
            suite_hash=suite_hash,
            model=config,
            prompt_version=body.prompt_version,
            options=_options(body),
            alias=body.alias,
            label=body.label,
            tags=body.tags,
            experiment_id=body.experiment_id,
            title=body.title,
            description=body.description,
            workspace_id=workspace.id,
            queued=queued,
        )

    return await submit_run(request, workspace, key, prepare)


async def submit_run(
    request: Request,
    workspace: Workspace,
    key: str | None,
    prepare: Callable[[Queued], RunJob],
) -> tuple[WorkspaceRun, bool]:
    """Record a run with ``prepare`` (``executor.launch.prepare_run``, which validates
    everything first; it passes ``prepare``'s argument on as its ``queued``) and hand it
    to the server's dispatcher. Returns the run and whether this request created it: with
    an ``Idempotency-Key`` already used in the workspace, the first request's run comes
    back instead, even when both requests race (the dispatcher settles it; nothing of the
    loser's run is ever seen)."""
    state = server_state(request)
    store = state.store
    dispatcher = state.dispatcher
    made: list[RunJob] = []
    columns: dict[str, Any] = {}

    def record(queued: Queued) -> str:
        def queue_columns() -> Mapping[str, Any]:
            assert queued is not None
            columns.update(queued())
            return columns

        job = prepare(None if queued is None else queue_columns)
        made.append(job)
        return job.run.id

    def submit() -> tuple[WorkspaceRun, bool]:
        # All in one trip through the thread pool: each trip is a hand-off between
        # threads that concurrent submissions wait on in turn.
        if key is not None:
            existing = find_idempotent(store, workspace.id, key)
            if existing is not None:
                return get_workspace_run(store, workspace.id, existing), False
        if isinstance(dispatcher, DatabaseDispatcher):  # recorded queued: one write
            queued = dispatcher.submit_recording(
                record, workspace_id=workspace.id, idempotency_key=key
            )
        else:
            queued = dispatcher.submit(record(None), idempotency_key=key)
        job = made[0] if made else None  # none: the loser of a race on the key
        if job is None or queued != job.run.id:
            return get_workspace_run(store, workspace.id, queued), False
        if "queued_at" in columns:  # as recorded just now: not read back
            return WorkspaceRun(job.run, as_utc(columns["queued_at"]), False), True
        return get_workspace_run(store, workspace.id, queued), True

    try:
        return await run_in_threadpool(submit)
    finally:
        for job in made:  # a worker executes the run, with a provider of its own
            await job.aclose()
