"""Every route hands runs to the server's dispatcher: submit, cancel and resume go
through the backend the app factory was given, never around it."""

from __future__ import annotations

import httpx

import evalbook
from evalbook.core.run import RunStatus
from evalbook.executor.dispatch import DatabaseDispatcher
from evalbook.server import ServerSettings, create_app
from evalbook.server.state import ServerState
from evalbook.storage.store import Store
from tests.server.resources import MOCK, post_suite, suite_data


class Recording(DatabaseDispatcher):
    """The database backend, with a log of the calls made to it."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.calls: list[tuple[str, str]] = []

    def submit(self, run_id: str, *, idempotency_key: str | None = None) -> str:
        self.calls.append(("submit", run_id))
        return super().submit(run_id, idempotency_key=idempotency_key)

    def cancel(self, run_id: str) -> RunStatus:
        self.calls.append(("cancel", run_id))
        return super().cancel(run_id)

    def requeue(self, run_id: str) -> bool:
        self.calls.append(("requeue", run_id))
        return super().requeue(run_id)


async def test_routes_submit_cancel_and_resume_through_the_dispatcher(store: Store) -> None:
    recording = Recording(store)

    def backend(state: ServerState) -> Recording:
        assert state.store is store
        return recording

    app = create_app(ServerSettings(worker=False), store=store, services=(), dispatcher=backend)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as api:
            assert (await post_suite(api, suite_data())).status_code == 201
            created = await api.post("/api/runs", json={"suite_id": "qa", "model": MOCK})
            assert created.status_code == 202
            run_id = created.json()["id"]
            path = f"/api/runs/{run_id}"
            assert (await api.post(f"{path}/cancel")).json()["status"] == "canceled"
            assert (await api.post(f"{path}/resume")).status_code == 202
            seeded = await api.post(
                "/api/evals",
                json={"name": "seed", "inputSet": [{"prompt": "hi"}], "model": MOCK},
            )
            assert seeded.status_code == 202, seeded.text
    assert recording.calls == [
        ("submit", run_id),
        ("cancel", run_id),
        ("requeue", run_id),
        ("submit", seeded.json()["id"]),
    ]
    finished = await evalbook.aresume(run_id, store=store)  # what a worker does
    assert finished.status is RunStatus.completed
