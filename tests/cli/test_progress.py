"""The terminal's progress bar: cases counted as they finish, shown a few times a
second, and every one of them shown by the end."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.cli import execution
from evalbook.cli.execution import progress_bar
from evalbook.executor.events import ItemDone, RunStarted


def _done(case: str, status: str) -> ItemDone:
    return ItemDone("r", case, 0, status, 1, 1, False, None)


def test_the_bar_counts_every_case_without_an_update_per_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    updates: list[int] = []
    shown, on_event = progress_bar("suite")
    with shown as progress:
        bar: Any = progress
        real = bar.update

        def update(task: Any, **fields: Any) -> None:
            updates.append(fields.get("advance", 0))
            real(task, **fields)

        monkeypatch.setattr(bar, "update", update)
        on_event(RunStarted("r", 1000, 0))
        for i in range(1000):
            on_event(_done(f"c{i}", ("passed", "failed", "error")[i % 3]))
        task = bar.tasks[0]
    # Shown once as they began (the first case) and once at the end: not 1,000 times.
    assert len(updates) <= 3
    assert task.completed == 1000 and task.total == 1000
    assert (task.fields["passed"], task.fields["failed"], task.fields["errored"]) == (
        334,
        333,
        333,
    )


def test_cases_are_shown_as_time_goes_by(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(execution, "_clock", lambda: clock[0])
    shown, on_event = progress_bar("suite")
    with shown as progress:
        bar: Any = progress
        on_event(RunStarted("r", 10, 0))
        on_event(_done("a", "passed"))  # the first is shown at once
        assert bar.tasks[0].completed == 1
        on_event(_done("b", "passed"))
        assert bar.tasks[0].completed == 1  # within PROGRESS_S: counted, not shown
        clock[0] += 2 * execution.PROGRESS_S
        on_event(_done("c", "failed"))
        assert bar.tasks[0].completed == 3
        assert bar.tasks[0].fields["failed"] == 1
