"""The one way the server starts a run: ``POST /api/runs`` and the web launch sheet both
call :func:`launch` with a :class:`~evalbook.server.schemas.runs.RunCreate`, so a run
launched from a browser is composed exactly as one posted by a script (validated by
``prepare_run``, recorded, queued, the worker woken; idempotent)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunOptions, RunRecord
from evalbook.core.suite import PromptVersion, Suite
from evalbook.errors import NotFoundError
from evalbook.executor.estimate import Estimate, estimate_run
from evalbook.executor.launch import prepare_run
from evalbook.providers.base import Provider
from evalbook.server.schemas.models import model_or_tier
from evalbook.server.schemas.runs import RunCreate
from evalbook.server.state import server_state
from evalbook.storage.catalog import SuiteRef, suite_refs
from evalbook.storage.queue import find_idempotent, mark_queued
from evalbook.storage.run_admin import discard_unqueued
from evalbook.storage.runs_query import WorkspaceRun, get_workspace_run
from evalbook.storage.store import Store
from evalbook.storage.workspaces import Workspace

__all__ = ["estimate", "latest_ref", "launch", "submit_run"]

Prepared = tuple[RunRecord, PromptVersion, ModelConfig, Provider]


def latest_ref(store: Store, workspace_id: str, suite_id: str, version: str | None) -> SuiteRef:
    """A suite version of the workspace (the latest when ``version`` is ``None``)."""
    refs = suite_refs(store, workspace_id, suite_id)
    if version is not None:
        refs = [r for r in refs if r.version == version]
    if not refs:
        which = f"suite {suite_id!r}" + (f" version {version!r}" if version else "")
        raise NotFoundError(f"no {which} in this workspace")
    return refs[-1]


def _options(body: RunCreate) -> RunOptions:
    return RunOptions(
        concurrency=body.concurrency,
        epochs=body.epochs,
        case_ids=body.cases,
        max_cost=body.max_cost,
        use_cache=body.use_cache,
    )


def _suite(store: Store, workspace_id: str, body: RunCreate) -> Suite:
    ref = latest_ref(store, workspace_id, body.suite_id, body.suite_version)
    return store.get_suite(ref.hash)


def estimate(store: Store, workspace_id: str, body: RunCreate) -> Estimate:
    """The pre-flight estimate of the run ``body`` describes (nothing is recorded)."""
    config = model_or_tier(body.model)
    return estimate_run(
        store,
        _suite(store, workspace_id, body),
        model=config,
        prompt_version=body.prompt_version,
        options=_options(body),
    )


async def launch(
    request: Request, workspace: Workspace, body: RunCreate, key: str | None = None
) -> tuple[WorkspaceRun, bool]:
    """Validate, record and queue the run ``body`` describes; see :func:`submit_run`."""
    store = server_state(request).store

    def prepare() -> Prepared:
        config = model_or_tier(body.model)
        return prepare_run(
            store,
            _suite(store, workspace.id, body),
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
        )

    return await submit_run(request, workspace, key, prepare)


async def submit_run(
    request: Request,
    workspace: Workspace,
    key: str | None,
    prepare: Callable[[], tuple[RunRecord, PromptVersion, ModelConfig, Provider]],
) -> tuple[WorkspaceRun, bool]:
    """Record a run with ``prepare`` (``executor.launch.prepare_run``, which validates
    everything first), queue it and wake the worker. Returns the run and whether this
    request created it: with an ``Idempotency-Key`` already used in the workspace, the
    first request's run comes back instead, even when both requests race (the database's
    unique key decides; the loser's unqueued run is removed before anyone saw it)."""
    store = server_state(request).store
    if key is not None:
        existing = await run_in_threadpool(find_idempotent, store, workspace.id, key)
        if existing is not None:
            return await run_in_threadpool(get_workspace_run, store, workspace.id, existing), False
    run, _version, _config, provider = await run_in_threadpool(prepare)
    await provider.aclose()
    try:
        await run_in_threadpool(mark_queued, store, run.id, idempotency_key=key)
    except sa.exc.IntegrityError:
        await run_in_threadpool(discard_unqueued, store, run.id)
        assert key is not None  # only the idempotency key is unique among these columns
        winner = await run_in_threadpool(find_idempotent, store, workspace.id, key)
        if winner is None:  # pragma: no cover - the winner cannot vanish
            raise
        return await run_in_threadpool(get_workspace_run, store, workspace.id, winner), False
    server_state(request).wake_worker()
    return await run_in_threadpool(get_workspace_run, store, workspace.id, run.id), True
