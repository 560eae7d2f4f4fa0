"""The loader of a streamed run shares the interpreter with the run: while it reads, the
interpreter switches threads every 0.1 ms (not every 5 ms), so the run's thread, which
gives the lock up at every socket call, is not kept waiting behind it; once the load
ends the interval is what it was."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from evalbook.core.suite import Case
from evalbook.errors import StorageError, SuiteError
from evalbook.executor.streamed import FIRST_CASES, LOADER_SWITCH_S, StreamedSuite


def _suite(folder: Path, n: int) -> Path:
    rows = "".join(json.dumps({"id": f"c{i}", "i": i}) + "\n" for i in range(n))
    (folder / "cases.jsonl").write_text(rows)
    path = folder / "suite.yaml"
    path.write_text("id: s\nprompt: 'q {{ i }}'\ncases: [{file: cases.jsonl}]\n")
    return path


def test_the_loader_lowers_the_switch_interval_while_it_reads(tmp_path: Path) -> None:
    before = sys.getswitchinterval()  # (kept in whole microseconds)
    assert before > 10 * LOADER_SWITCH_S
    source = StreamedSuite.start(_suite(tmp_path, FIRST_CASES * 3))
    try:
        assert source.head() is not None
        # it pauses once it has handed over its first cases, until the run queued them
        deadline = time.monotonic() + 10
        while source._handed < FIRST_CASES and time.monotonic() < deadline:
            time.sleep(0.005)
        assert source._handed == FIRST_CASES
        assert sys.getswitchinterval() == pytest.approx(LOADER_SWITCH_S, rel=0.02)
    finally:
        source.decline()  # nobody takes cases: it reads the rest at once
    suite = source.suite()
    assert len(suite.cases) == FIRST_CASES * 3
    assert sys.getswitchinterval() == before


def test_a_failed_load_restores_the_switch_interval(tmp_path: Path) -> None:
    before = sys.getswitchinterval()
    path = _suite(tmp_path, 10)
    with open(tmp_path / "cases.jsonl", "a") as fh:
        fh.write("{not json\n")
    source = StreamedSuite.start(path)
    source.decline()
    with pytest.raises(SuiteError, match=r"cases\.jsonl:11"):
        source.suite()
    assert sys.getswitchinterval() == before


def test_a_failure_beside_the_load_ends_the_stream_at_once(tmp_path: Path) -> None:
    # `evalbook run` opens its database beside its first requests: if that fails, the
    # run stops taking cases at once and its wait for the suite raises the failure.
    n = FIRST_CASES * 8
    source = StreamedSuite.start(_suite(tmp_path, n), limit=n)
    failure = StorageError("cannot open the database")

    async def take() -> tuple[list[Case], int]:
        got: list[Case] = []
        at = -1
        async for batch in source.early_cases(64):
            got.extend(batch)
            if at < 0:
                at = len(got)
                source.fail(failure)
        with pytest.raises(StorageError) as raised:
            await source.loaded()
        assert raised.value is failure
        return got, at

    got, at = asyncio.run(take())
    assert len(got) == at  # nothing more was handed over
    with pytest.raises(StorageError):
        source.suite()
