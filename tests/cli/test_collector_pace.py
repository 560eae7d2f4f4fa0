"""A command that ends with its work (an export, a report) collects Python's youngest
generation every 100,000 new objects instead of 700 (a sixth of an export went to those
collections); a server or a worker keeps Python's pace; the thresholds are handed back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from evalbook.cli import app as cli_app


@pytest.fixture
def thresholds() -> Iterator[tuple[int, ...]]:
    before = gc.get_threshold()
    gc.set_threshold(700, *before[1:])
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("args", [["export", "abc"], ["report", "x", "-o", "r.html"], []])
def test_a_command_that_ends_with_its_work_is_paced(
    args: list[str], thresholds: tuple[int, ...]
) -> None:
    assert cli_app._pace_collector(args) == thresholds
    assert gc.get_threshold() == (cli_app.BATCH_GC_THRESHOLD, *thresholds[1:])


@pytest.mark.parametrize("command", sorted(cli_app.LONG_LIVED))
def test_a_long_lived_command_keeps_the_pace(command: str, thresholds: tuple[int, ...]) -> None:
    assert cli_app._pace_collector([command, "--port", "0"]) is None
    assert gc.get_threshold() == thresholds


def test_main_hands_the_thresholds_back(
    thresholds: tuple[int, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, ...]] = []
    monkeypatch.setattr(cli_app, "app", lambda **_: seen.append(gc.get_threshold()) or 0)
    with pytest.raises(SystemExit):
        cli_app.main(["export", "abc"])
    assert seen == [(cli_app.BATCH_GC_THRESHOLD, *thresholds[1:])]
    assert gc.get_threshold() == thresholds
