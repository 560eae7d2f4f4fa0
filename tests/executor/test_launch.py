"""The one launch path: ``prepare_run`` returns a ``RunJob`` and ``execute`` runs it and
closes its provider, whoever launches (the Python API, the CLI, a worker)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import evalbook
from evalbook.cli.execution import run_in_terminal
from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunStatus
from evalbook.core.suite import Suite
from evalbook.executor.launch import RunJob, load_for_resume, prepare_run
from evalbook.providers import PROVIDERS, GenerateRequest, GenerateResponse, Provider, provider
from evalbook.storage import queue
from evalbook.storage.catalog import prompt_refs, suite_refs
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.worker import execute_claimed


class Counted(Provider):
    """Answers ``yes``; counts the instances built and closed."""

    built: list[Counted] = []
    closed: list[Counted] = []

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        Counted.built.append(self)

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        return GenerateResponse(text="yes")

    async def aclose(self) -> None:
        Counted.closed.append(self)


@pytest.fixture(autouse=True)
def counted() -> Iterator[None]:
    provider("counted")(Counted)
    Counted.built.clear()
    Counted.closed.clear()
    yield
    PROVIDERS.unregister("counted")


def _suite() -> Suite:
    return load_suite_from_dict(
        {
            "id": "launch",
            "name": "launch",
            "model": {"provider": "counted", "name": "m"},
            "prompt": "q {{ i }}",
            "scorers": [{"equals": "yes"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(3)],
        }
    )


def _mock_suite(case: str) -> Suite:
    return load_suite_from_dict(
        {
            "id": "reg",
            "version": "1",
            "model": "mock:echo",
            "prompt": "q {{ i }}",
            "scorers": ["non-empty"],
            "cases": [{"id": case, "vars": {"i": 1}}],
        }
    )


def test_prepare_run_registers_the_suite_with_the_run(store: Store) -> None:
    first = prepare_run(store, _mock_suite("c1"), register=True).run
    refs = suite_refs(store, "default", "reg")
    assert [(r.version, r.hash) for r in refs] == [("1", first.suite_hash)]
    assert [p.version for p in prompt_refs(store, "default", first.prompt_name)] == [1]
    again = prepare_run(store, _mock_suite("c1"), register=True).run
    assert again.suite_hash == first.suite_hash  # registered already: recorded as it was
    # Version 1 means other cases in this workspace: the run still records its own suite
    # (the registration keeps the first content).
    other = prepare_run(store, _mock_suite("c2"), register=True).run
    assert other.suite_hash != first.suite_hash
    assert [c.id for c in store.get_suite(other.suite_hash).cases] == ["c2"]
    assert [r.hash for r in suite_refs(store, "default", "reg")] == [first.suite_hash]


def test_prepare_run_returns_the_recorded_run_as_a_job(store: Store) -> None:
    job = prepare_run(store, _suite())
    assert isinstance(job, RunJob)
    assert store.get_run(job.run.id).status is RunStatus.pending
    assert job.version.version == job.run.prompt_version
    assert job.config.provider == "counted"
    assert Counted.built == [job.provider]


async def test_the_api_builds_one_provider_and_closes_it(store: Store) -> None:
    run = await evalbook.arun(_suite(), store=store)
    assert run.status is RunStatus.completed and run.score == 1.0
    assert len(Counted.built) == 1
    assert Counted.closed == Counted.built


def test_the_cli_executes_the_job_it_was_given(store: Store) -> None:
    job = prepare_run(store, _suite())
    done = run_in_terminal(store, job, as_json=True)
    assert done.id == job.run.id and done.status is RunStatus.completed
    assert Counted.built == [job.provider] == Counted.closed


async def test_a_queued_job_gives_its_provider_back_and_the_worker_builds_its_own(
    store: Store,
) -> None:
    job = prepare_run(store, _suite())
    await job.aclose()  # what the server does once the run is queued
    queue.mark_queued(store, job.run.id)
    assert queue.claim(store, "w1", lease_s=30) == job.run.id
    done = await execute_claimed(store, job.run.id, "w1", lease_s=30)
    assert done is not None and done.status is RunStatus.completed
    assert len(Counted.built) == 2
    assert Counted.closed == Counted.built


def test_a_resumed_job_is_the_run_as_recorded(store: Store) -> None:
    run = evalbook.run(_suite(), store=store)
    store_run = store.get_run(run.id)
    store_run.status = RunStatus.canceled
    store.update_run(store_run)
    job = load_for_resume(store, run.id)
    assert (job.run.id, job.suite.hash, job.version.hash) == (
        run.id,
        run.suite_hash,
        run.prompt_hash,
    )
    assert job.config.hash == run.model_hash
