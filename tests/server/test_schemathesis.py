"""Property-based tests over the whole OpenAPI document (schemathesis): whatever a client
sends, no answer is a 5xx and every answer matches its declared schema.

The app runs on SQLite with a registered suite and a finished run; path parameters that
name records are pointed at them half of the time (chosen from the generated case, so a
failure replays), so the query and body fuzzing reaches real data and not only 404s.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.types import Receive, Scope, Send

import evalbook
from evalbook.server import ServerSettings, create_app
from evalbook.server.openapi import document
from evalbook.server.state import ServerState
from evalbook.storage.catalog import register_suite
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, ensure_workspace
from evalbook.suites import load_suite_from_dict
from tests.server.resources import MOCK, suite_data

pytestmark = pytest.mark.slow


class _Current:
    """The ASGI app under test, swapped in by the fixture (the schema is loaded when the
    module is; the database exists only once the fixture runs). The app's state is set by
    the fixture, so the lifespan is declined here."""

    app: FastAPI | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            raise RuntimeError("no lifespan")  # before any message: "not supported"
        assert self.app is not None, "the `seeded` fixture sets the app"
        await self.app(scope, receive, send)


CURRENT = _Current()
# A JSONL dataset body is text (its schema: a string), sent as it is.
schemathesis.serializer.alias("application/jsonl", "text/plain")
schema = schemathesis.openapi.from_dict(document())
schema.app = CURRENT


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A suite registered in ``default`` and a finished run of it; the run's id."""
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'api.db'}"
    store = Store.open(url)
    suite = load_suite_from_dict(suite_data())
    register_suite(store, DEFAULT_WORKSPACE, suite)
    run = evalbook.run(suite, model=MOCK, store=store)
    settings_ = ServerSettings(worker=False, database_url=url)
    app = create_app(settings_, store=store, services=())
    ensure_workspace(store, DEFAULT_WORKSPACE)
    app.state.evalbook = ServerState(settings=settings_, store=store)
    CURRENT.app = app
    yield run.id
    CURRENT.app = None
    store.close()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_never_fails_and_keeps_its_schema(case: schemathesis.Case, seeded: str) -> None:
    params = case.path_parameters or {}
    if params and zlib.crc32(repr(sorted(params.items())).encode()) % 2:
        real = {
            "run_id": seeded, "id": seeded, "runId": seeded,
            "suite_id": "qa", "name": "qa-prompt", "promptId": "qa-prompt",
            "case_id": "c1", "version": 1 if "/prompts/" in case.path else "1",
        }  # fmt: skip
        case.path_parameters = {k: real.get(k, v) for k, v in params.items()}
    # For the event stream, schemathesis checks every event against its per-event schema.
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
