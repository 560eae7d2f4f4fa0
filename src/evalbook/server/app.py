"""The FastAPI application: ``create_app(settings)`` is what ``evalbook serve`` runs.

Handlers are thin: they validate the request, check the workspace, and call the same
store and library functions the CLI calls. Background services (the in-process worker
pool, webhook delivery) start and stop with the app; each is an ``async (state, stop)``
function of ``server/services.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence

import anyio.to_thread
from fastapi import FastAPI

from evalbook._version import __version__
from evalbook.core.heap import start_up_set_aside
from evalbook.errors import ConfigError
from evalbook.executor.dispatch import Dispatcher
from evalbook.plain_text import get_logger
from evalbook.server import api_docs
from evalbook.server.errors import BodyLimit, install_error_handlers
from evalbook.server.routes import ROUTERS
from evalbook.server.schemas.common import ERRORS
from evalbook.server.services import Service, default_services
from evalbook.server.settings import ServerSettings
from evalbook.server.state import ServerState
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, ensure_workspace, has_keys

__all__ = ["check_bind", "create_app"]

log = get_logger("evalbook.server")


def check_bind(settings: ServerSettings, store: Store) -> None:
    """Refuse to serve without keys on an address other machines can reach."""
    if not settings.single_user_allowed and not has_keys(store):
        raise ConfigError(
            f"refusing to listen on {settings.host} without API keys: anyone who can reach"
            " it could run models on your keys. Create one with `evalbook keys create"
            " --workspace NAME`, or listen on 127.0.0.1"
        )


def create_app(
    settings: ServerSettings | None = None,
    *,
    store: Store | None = None,
    services: Sequence[Service] | None = None,
    dispatcher: Callable[[ServerState], Dispatcher] | None = None,
    long_lived: bool = False,
) -> FastAPI:
    """The app. ``store`` is opened from ``settings.database_url`` when not given (and
    then closed with the app); ``services`` default to :func:`default_services` (the
    worker pool when ``settings.worker`` is on, and webhook delivery); ``dispatcher``
    makes the backend every route hands runs to (default: the database queue, see
    ``executor/dispatch.py``). ``long_lived``: the app is the process's (``evalbook
    serve``): what its start-up made is set aside from the cyclic collector for the app's
    life (``core/heap.start_up_set_aside``)."""
    settings = settings or ServerSettings()
    chosen = services if services is not None else default_services(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = store is None
        # The threads sync routes and ``run_in_threadpool`` run in (this loop's limiter).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        opened: Store = (
            store
            if store is not None
            else await asyncio.to_thread(Store.open, settings.database_url)
        )
        try:
            await asyncio.to_thread(check_bind, settings, opened)
            await asyncio.to_thread(ensure_workspace, opened, DEFAULT_WORKSPACE)
            state = ServerState(settings=settings, store=opened)
            if dispatcher is not None:
                state.dispatcher = dispatcher(state)
            app.state.evalbook = state
            stop = asyncio.Event()
            with start_up_set_aside() if long_lived else contextlib.nullcontext():
                tasks = [asyncio.ensure_future(service(state, stop)) for service in chosen]
                try:
                    yield
                finally:
                    stop.set()
                    for task in tasks:
                        try:
                            await asyncio.wait_for(task, timeout=30)
                        except Exception:  # a service's failure must not hide the others'
                            log.exception("background service failed while stopping")
        finally:
            if own:
                opened.close()

    app = FastAPI(
        title="evalbook",
        version=__version__,
        summary="LLM evaluation runs: suites, prompts, runs, results, comparisons.",
        lifespan=lifespan,
        responses=ERRORS,  # the error answers any route may give, documented once
        docs_url=None,  # served from the package by api_docs (FastAPI's page uses a CDN)
        redoc_url=None,
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(api_docs.router)
    if settings.web:
        from evalbook.server.web import install_web

        install_web(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    return app
