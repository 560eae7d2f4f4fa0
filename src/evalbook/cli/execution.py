"""Run a prepared run in the terminal: a live progress bar, then the summary or JSON."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalbook.cli.console import console, err_console
from evalbook.cli.summary import print_summary
from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import PromptVersion, Suite
from evalbook.executor.events import Event, EventSink, ItemDone, RunStarted
from evalbook.executor.launch import execute
from evalbook.providers.base import Provider
from evalbook.providers.registry import create_provider
from evalbook.storage.store import Store

EXIT_FAILED = 100


def run_in_terminal(
    store: Store,
    run: RunRecord,
    suite: Suite,
    version: PromptVersion,
    config: ModelConfig,
    *,
    provider: Provider | None = None,
    as_json: bool = False,
) -> RunRecord:
    """Execute with a progress bar on stderr; Ctrl-C leaves a ``canceled`` run behind."""
    if provider is None:
        provider = create_provider(config)
    provider.prepare(progress=not as_json and err_console.is_terminal)
    progress, on_event = progress_bar(suite.name, as_json=as_json)
    try:
        with progress:
            result = asyncio.run(
                execute(store, run, suite, version, config, provider=provider, on_event=on_event)
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]canceled[/]: finished cases are kept. Resume with"
            f" [bold]evalbook run {suite.source or 'SUITE.yaml'} --resume {run.id}[/]"
        )
        raise
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        print_summary(store, result)
    return result


def progress_bar(description: str, *, as_json: bool = False) -> tuple[Progress, EventSink]:
    """A progress bar on stderr (off with ``--json``) and the event sink that drives it."""
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
        disable=as_json,
    )
    task = progress.add_task(description, total=None, passed=0, failed=0, errored=0)
    tally = {"passed": 0, "failed": 0, "error": 0}

    def on_event(event: Event) -> None:
        if isinstance(event, RunStarted):
            progress.update(task, total=event.total, completed=event.already_done)
        elif isinstance(event, ItemDone):
            tally[event.status] = tally.get(event.status, 0) + 1
            progress.update(
                task,
                advance=1,
                passed=tally["passed"],
                failed=tally["failed"],
                errored=tally["error"],
            )

    return progress, on_event


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
