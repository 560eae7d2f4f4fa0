"""Execute a prepared run job in the terminal: a live progress bar, then the summary or
JSON. The job comes from ``executor.launch`` like any library user's, so the CLI runs
exactly what ``evalbook.run`` runs.

rich (the consoles, the bar, the summary) is imported when something is shown: a
streamed ``--json`` run shows nothing before its run is recorded, which is after its
first requests went out (``tests/cli/test_run_startup.py``)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING

import typer

from evalbook.core.run import RunRecord, RunStatus
from evalbook.executor.events import Event, EventSink, ItemDone, ItemStarted, RunStarted
from evalbook.executor.launch import RunJob, execute
from evalbook.executor.lease import execute_held

if TYPE_CHECKING:
    from evalbook.storage.store import Store

EXIT_FAILED = 100
#: Seconds after a streamed run asks its first case before its store starts opening:
#: the loop connects and sends the first requests meanwhile. Opened at once, the storage
#: layer's imports on the other thread held the interpreter lock the loop needed between
#: its socket calls: first request at 1,000 cases (load ~2 on 2 cores), min 0.51-0.52 s;
#: after 30 ms, 0.44-0.46 s (after 100 ms no better).
FIRST_REQUESTS_S = 0.03
#: Seconds between two updates of the progress bar by finished cases.
PROGRESS_S = 0.05
_clock = time.monotonic


def run_in_terminal(
    store: Store,
    job: RunJob,
    *,
    as_json: bool = False,
    on_first_ask: Callable[[], object] | None = None,
    concurrency_given: bool = True,
) -> RunRecord:
    """Execute with a progress bar on stderr; Ctrl-C leaves a ``canceled`` run behind.
    A streamed run is announced once it is recorded (before any of its results is).
    ``on_first_ask``: called once, just after the run asks its first case (``evalbook
    run`` starts opening its store then: see ``cli/store.py``). When the endpoint takes
    fewer requests at once than the run's concurrency, a note says so if the concurrency
    was asked for (``concurrency_given``; a default is nobody's request, and the embedded
    model answering one at a time is no news on every run); ``--json`` has it always
    (the run's ``options.in_flight``)."""
    stream = job.stream
    if stream is None:
        announce_run(job.run, job.suite.source)
    else:
        stream.on_recorded = lambda: announce_run(job.run, job.suite.source)
    limit, asked = job.run.options.in_flight, job.run.options.concurrency
    if limit is not None and concurrency_given:
        from evalbook.cli.console import err_console, escaped, shown

        note, requests = shown("note:", "yellow"), "request" if limit == 1 else "requests"
        note.append(
            f" {escaped(job.provider.endpoint)} takes {limit} {requests} at a time"
            f" (max_connections); --concurrency {asked} keeps at most {limit} in flight"
        )
        err_console.print(note, soft_wrap=True)
    # What the provider fetches (model weights) shows its own progress, before the bar.
    job.provider.prepare(progress=not as_json and _stderr_is_terminal())
    progress, on_event = progress_bar(job.suite.name, as_json=as_json)
    if on_first_ask is not None:
        on_event = _first_ask(on_event, on_first_ask)
    previous = signal.signal(signal.SIGTERM, _terminate)  # taken like Ctrl-C (CI timeouts)
    try:
        with progress:
            result = asyncio.run(
                execute_held(
                    store,
                    job.run.id,
                    lambda: execute(store, job, on_event=on_event),
                    recorded=None if stream is None else stream.wait_recorded,
                )
            )
    except KeyboardInterrupt:
        from evalbook.cli.console import err_console

        if stream is not None and not stream.recorded:
            err_console.print(
                "[yellow]canceled[/] before the suite was loaded: no run was recorded"
            )
            raise
        err_console.print(
            f"[yellow]canceled[/]: finished cases are kept. Resume with"
            f" [bold]evalbook resume {job.run.id}[/]"
        )
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    from evalbook.cli.console import console

    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        from evalbook.cli.summary import print_summary

        print_summary(store, result)
    return result


def _stderr_is_terminal() -> bool:
    from evalbook.cli.console import err_console

    return err_console.is_terminal


def _first_ask(on_event: EventSink, then: Callable[[], object]) -> EventSink:
    """``on_event``, calling ``then()`` :data:`FIRST_REQUESTS_S` after the first item is
    asked (on the event loop)."""
    pending = [then]

    def sink(event: Event) -> None:
        if pending and isinstance(event, ItemStarted):
            asyncio.get_running_loop().call_later(FIRST_REQUESTS_S, pending.pop())
        on_event(event)

    return sink


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM: stop as Ctrl-C does — finished results written, the run ``canceled`` and
    resumable — instead of dying with the run left ``running``. Inside ``asyncio.run`` the
    SIGINT handler is asyncio's, which cancels the run's main task; a KeyboardInterrupt
    raised here instead would land in whichever task happens to be running."""
    on_ctrl_c = signal.getsignal(signal.SIGINT)
    if callable(on_ctrl_c):
        on_ctrl_c(signal.SIGINT, frame)  # type: ignore[arg-type]
        return
    raise KeyboardInterrupt


def announce_run(run: RunRecord, source: object) -> None:
    """The run's id on stderr before its first case, so that a run stopped by anything (a
    closed terminal, a killed job) can be found and resumed; stdout stays the result's."""
    from evalbook.cli.console import err_console

    err_console.print(
        f"run [bold]{run.id}[/] started; if it is stopped, continue it with"
        f" evalbook resume {run.id}",
        highlight=False,
        soft_wrap=True,
    )


def progress_bar(
    description: str, *, as_json: bool = False
) -> tuple[AbstractContextManager[object], EventSink]:
    """A progress bar on stderr (none with ``--json``) and the event sink that drives it."""
    if as_json:
        return nullcontext(), _ignore
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from evalbook.cli.console import err_console

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "[green]{task.fields[passed]} passed[/] [red]{task.fields[failed]} failed[/]"
            " [yellow]{task.fields[errored]} errors[/]"
        ),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    task = progress.add_task(description, total=None, passed=0, failed=0, errored=0)
    tally = {"passed": 0, "failed": 0, "error": 0}
    # Cases counted here and shown at most every PROGRESS_S (the bar is drawn 10 times a
    # second): an update of the bar per case cost 0.5 s of a 100,000-case cached re-run.
    unshown = [0]
    shown_at = [0.0]

    def show() -> None:
        shown_at[0] = _clock()
        progress.update(
            task,
            advance=unshown[0],
            passed=tally["passed"],
            failed=tally["failed"],
            errored=tally["error"],
        )
        unshown[0] = 0

    def on_event(event: Event) -> None:
        if isinstance(event, ItemDone):
            tally[event.status] = tally.get(event.status, 0) + 1
            unshown[0] += 1
            if _clock() - shown_at[0] >= PROGRESS_S:
                show()
            return
        if unshown[0]:
            show()
        if isinstance(event, RunStarted):
            progress.update(task, total=event.total, completed=event.already_done)

    @contextmanager
    def showing() -> Iterator[object]:
        with progress:
            try:
                yield progress
            finally:
                if unshown[0]:
                    show()  # the last cases, before the bar's last drawing

    return showing(), on_event


def _ignore(event: Event) -> None:
    """The sink of a run without a progress bar."""


def exit_code_for(run: RunRecord) -> int:
    if run.status is RunStatus.completed and run.passed:
        return 0
    if run.status is RunStatus.failed:
        return 1
    return EXIT_FAILED


def finish(run: RunRecord) -> None:
    code = exit_code_for(run)
    if code:
        raise typer.Exit(code)
