"""A large run's results written by a process of their own (``executor/writer_process``):
the same record as the store thread writes, each case's event only once its batch is
confirmed, nothing lost or doubled when the process dies, the database's refusal raised
as the store would, a process that cannot start or gets Ctrl-C changing nothing."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import evalbook
from evalbook.config import writer_process_after
from evalbook.core.result import Result
from evalbook.errors import ConfigError, StorageError
from evalbook.executor.events import Event, ItemDone
from evalbook.executor.store_io import StoreIO
from evalbook.executor.writer import ResultWriter
from evalbook.executor.writer_process import WriterProcess, can_write_apart
from evalbook.storage.store import Store

from .helpers import yes_no_suite


async def _copies_of_a_run(store: Store, base_url: str, n: int, run_id: str) -> list[Result]:
    """The results of a real run of ``n`` cases, as the results of a new run ``run_id``
    (recorded): what a writer is handed."""
    run = await evalbook.arun(yes_no_suite(n, base_url), store=store)
    store.insert_run(store.get_run(run.id).model_copy(update={"id": run_id}))
    return [
        r.model_copy(update={"run_id": run_id, "id": f"{run_id}-{i}"})
        for i, r in enumerate(store.iter_results(run.id))
    ]


def _done(result: Result) -> ItemDone:
    return ItemDone(result.run_id, result.case_id, 0, result.status.value, 1, 1, False, None)


async def _write_through_the_process(
    store: Store, results: list[Result], *, kill_after: int | None = None
) -> tuple[ResultWriter, list[tuple[str, bool]]]:
    """Hand ``results`` to a writer whose process takes them from the first batch it is
    ready for (the first ones go through the store thread while it starts); with
    ``kill_after``, the process is killed once that many results were handed over.
    Returns the writer and, per event sent, (case, whether its result was recorded)."""
    seen: list[tuple[str, bool]] = []

    def on_written(event: Event) -> None:
        assert isinstance(event, ItemDone)
        recorded = {case for case, _ in store.result_statuses(event.run_id)}
        seen.append((event.case_id, event.case_id in recorded))

    io = StoreIO()
    async with ResultWriter(store, io, on_written=on_written, batch_size=2) as writer:
        for seq, result in enumerate(results):
            writer.add(result, seq, None, _done(result))
            if seq == 0:
                assert writer.apart is not None, "the process starts with the first result"
            # Slowly while the process starts (the writer asks whether it is ready at
            # each batch it writes, meanwhile through the store thread).
            if writer.apart is not None and writer.apart.ready is None:
                await asyncio.sleep(0.1)
            if seq == kill_after:
                assert writer.apart is not None and writer.apart.ready
                os.kill(writer.apart.pid, signal.SIGKILL)
            if seq % 3 == 0:
                await asyncio.sleep(0.03)  # let batches go out one by one
    io.close()
    return writer, seen


def _as_recorded(store: Store, run_id: str) -> list[dict[str, Any]]:
    return [
        r.model_dump(exclude={"id", "run_id", "created_at"})
        for r in sorted(store.iter_results(run_id), key=lambda r: r.case_id)
    ]


async def test_the_process_writes_the_record_the_store_thread_writes(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", "off")
    here = await _copies_of_a_run(store, server.base_url, 80, "by-thread")
    io = StoreIO()
    async with ResultWriter(store, io, batch_size=2) as writer:
        for seq, result in enumerate(here):
            writer.add(result, seq)
    io.close()
    assert writer.apart is None

    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", "0")
    apart = [
        r.model_copy(update={"run_id": "by-process", "id": f"by-process-{i}"})
        for i, r in enumerate(here)
    ]
    store.insert_run(store.get_run("by-thread").model_copy(update={"id": "by-process"}))
    writer, seen = await _write_through_the_process(store, apart)
    assert writer.apart is not None and writer.apart.ready  # it wrote (and was closed)
    assert writer.apart.batches > 5
    assert writer.written == len(apart)
    assert _as_recorded(store, "by-process") == _as_recorded(store, "by-thread")
    # Every case announced once, and only once its result was recorded.
    assert sorted(seen) == sorted((r.case_id, True) for r in apart)


async def test_a_killed_process_loses_nothing_and_doubles_nothing(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", "0")
    results = await _copies_of_a_run(store, server.base_url, 80, "killed")
    with caplog.at_level(logging.WARNING, logger="evalbook.executor"):
        writer, seen = await _write_through_the_process(store, results, kill_after=60)
    assert writer.apart is None  # the store thread took the writes back
    recorded = list(store.iter_results("killed"))
    assert sorted(r.case_id for r in recorded) == sorted(r.case_id for r in results)
    assert sorted(seen) == sorted((r.case_id, True) for r in results)
    assert any("writer process ended" in m for m in caplog.messages), caplog.messages


async def test_a_refused_batch_is_an_error_of_the_run_and_the_process_goes_on(
    store: Store, server: Any
) -> None:
    results = await _copies_of_a_run(store, server.base_url, 4, "recorded")
    stray = [(r.model_copy(update={"run_id": "never-recorded"}), i) for i, r in enumerate(results)]
    process = WriterProcess(store)
    try:
        _wait_started(process)
        assert process.save(stray, []) == (0, 0)  # in flight: answered with the next
        good = [(r, i) for i, r in enumerate(results)]
        with pytest.raises(StorageError, match="never-recorded"):
            process.save(good, [])
        assert process.unconfirmed() == [(good, [])]  # the refused batch was answered
        assert process.drain() == (1, 4)  # the next batch was written
    finally:
        process.close()
    assert len(list(store.iter_results("recorded"))) == 4
    assert list(store.iter_results("never-recorded")) == []


def _wait_started(process: WriterProcess) -> None:
    deadline = time.monotonic() + 30
    while not process.started():
        assert process.ready is None, "the writer process did not start"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_ctrl_c_is_left_to_the_parent(store: Store) -> None:
    process = WriterProcess(store)
    try:
        _wait_started(process)
        os.kill(process.pid, signal.SIGINT)  # what a terminal sends the whole group
        assert process.save([], []) == (0, 0)
        assert process.drain() == (1, 0)  # still there, still answering
    finally:
        process.close()
    assert process._proc.returncode == 0  # the closed pipe ends it


def test_a_process_that_cannot_start_leaves_the_writes_here(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    process = WriterProcess(store, python=str(broken))
    deadline = time.monotonic() + 30
    with caplog.at_level(logging.WARNING, logger="evalbook.executor"):
        while process.ready is None:
            process.started()
            assert time.monotonic() < deadline
            time.sleep(0.02)
    assert process.ready is False and not process.started()
    assert any("did not start (exit status 3)" in m for m in caplog.messages), caplog.messages
    process.close()


def test_only_a_database_another_process_can_open_is_written_apart(tmp_path: Path) -> None:
    memory = Store.open("sqlite://")
    on_disk = Store.open(f"sqlite:///{tmp_path / 'apart.db'}")
    try:
        assert not can_write_apart(memory)
        assert can_write_apart(on_disk)
    finally:
        memory.close()
        on_disk.close()


@pytest.mark.parametrize(
    ("raw", "after"),
    [
        ("", 2000 if len(os.sched_getaffinity(0)) > 1 else None),
        ("off", None),
        ("OFF", None),
        ("0", 0),
        ("5,000", 5000),
        ("50_000", 50000),
    ],
)
def test_when_the_process_takes_over(
    monkeypatch: pytest.MonkeyPatch, raw: str, after: int | None
) -> None:
    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", raw)
    assert writer_process_after() == after


def test_on_one_core_the_run_writes_its_results_itself() -> None:
    """Another process would only add its pickling to the same core's work."""
    ask = "from evalbook.config import writer_process_after as a; print(a())"
    env = {k: v for k, v in os.environ.items() if k != "EVALBOOK_WRITER_PROCESS_AFTER"}
    one_core = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", ask],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert one_core.stdout.strip() == "None"
    told = subprocess.run(
        ["taskset", "-c", "0", sys.executable, "-c", ask],
        env={**env, "EVALBOOK_WRITER_PROCESS_AFTER": "500"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert told.stdout.strip() == "500"  # a setting given is kept


@pytest.mark.parametrize("raw", ["-1", "many", "1.5"])
def test_a_wrong_setting_is_named(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", raw)
    with pytest.raises(ConfigError, match="EVALBOOK_WRITER_PROCESS_AFTER"):
        writer_process_after()


async def test_a_run_known_to_be_large_starts_the_process_with_its_first_result(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that will make more results than the threshold starts the process before
    its first result (ready by the time the first batches come); a smaller one never
    starts it."""
    from evalbook.executor import runner

    at_first_add: list[bool] = []

    class Watched(ResultWriter):
        def add(self, *args: Any, **kwargs: Any) -> None:
            if not self.added:
                at_first_add.append(self.apart is not None)
            super().add(*args, **kwargs)

    monkeypatch.setattr(runner, "ResultWriter", Watched)
    monkeypatch.setenv("EVALBOOK_WRITER_PROCESS_AFTER", "20")
    big = await evalbook.arun(yes_no_suite(30, server.base_url, suite_id="big"), store=store)
    small = await evalbook.arun(yes_no_suite(20, server.base_url, suite_id="small"), store=store)
    assert at_first_add == [True, False]
    assert big.counts.total == 30 and small.counts.total == 20
    assert len(store.result_statuses(big.id)) == 30

    # What the runner tells it: more than the threshold starts it at once.
    io = StoreIO()
    async with ResultWriter(store, io) as writer:
        writer.expect(20)
        assert writer.apart is None
        writer.expect(21)
        assert writer.apart is not None
    io.close()
