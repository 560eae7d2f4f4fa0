"""``evalbook rescore RUN --scorer SPEC``: score a finished run's outputs with new scorers.

No model is called: a new run, linked to the source by ``rescored_from``, reuses every
output and records the new verdicts. The source run is never changed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
import yaml

from evalbook.cli.console import console, err_console
from evalbook.cli.execution import finish, progress_bar
from evalbook.cli.summary import fmt_cost, print_summary
from evalbook.core.run import RunRecord
from evalbook.core.suite import ScorerSpec
from evalbook.errors import ConfigError
from evalbook.executor.rescore import execute_rescore, prepare_rescore
from evalbook.scorers.registry import parse_scorer_spec
from evalbook.storage.run_refs import RUN_HELP, named_run
from evalbook.storage.store import Store


def parse_scorer_option(text: str) -> ScorerSpec:
    """``--scorer`` as YAML or JSON: ``non-empty``, ``'contains: Paris'``,
    ``'{"llm-judge": "Is it polite?", "judge": "openai:gpt-4o-mini"}'``."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"--scorer {text!r} is not valid YAML/JSON: {exc}") from None
    return _spec(raw, f"--scorer {text!r}")


def read_scorers_file(path: Path) -> list[ScorerSpec]:
    """A YAML file holding a list of scorer specs (or ``scorers:`` with one)."""
    try:
        raw: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if isinstance(raw, dict) and set(raw) == {"scorers"}:
        raw = raw["scorers"]
    if not isinstance(raw, list):
        raise ConfigError(f"{path} must hold a list of scorer specs")
    return [_spec(item, f"{path}: item {i + 1}") for i, item in enumerate(raw)]


def _spec(raw: Any, where: str) -> ScorerSpec:
    if not isinstance(raw, str | dict):
        raise ConfigError(f"{where}: a scorer spec is a name or a mapping, not {raw!r}")
    try:
        return parse_scorer_spec(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def rescore_command(
    run_id: str = typer.Argument(..., metavar="RUN", help="The run to re-score: " + RUN_HELP),
    scorer: list[str] = typer.Option(
        [],
        "--scorer",
        "-s",
        help="A scorer spec in YAML/JSON, e.g. 'contains: Paris' (repeatable).",
    ),
    scorers_file: Path | None = typer.Option(
        None, "--scorers-file", help="A YAML file with a list of scorer specs."
    ),
    keep: bool = typer.Option(
        False, "--keep", help="Keep the run's own verdicts beside the new scorers."
    ),
    alias: str | None = typer.Option(None, "--alias", help="Alias of the new run."),
    label: str | None = typer.Option(None, "--label", help="A free label for the new run."),
    tag: list[str] = typer.Option([], "--tag", help="Tag the new run (repeatable)."),
    title: str | None = typer.Option(None, "--title", help="Display title of the new run."),
    concurrency: int = typer.Option(8, "--concurrency", "-c", min=1, help="Results in flight."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ask judges again instead of reusing cached verdicts."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the new run record as JSON."),
) -> None:
    """Score a finished run's outputs with new scorers into a new linked run (no model calls)."""
    specs = [parse_scorer_option(s) for s in scorer]
    if scorers_file is not None:
        specs.extend(read_scorers_file(scorers_file))
    if not specs:
        raise ConfigError("give the new scorers: --scorer SPEC (repeatable) or --scorers-file")
    store = Store.open()
    try:
        result = _rescore(
            store,
            run_id,
            specs,
            keep=keep,
            concurrency=concurrency,
            use_cache=not no_cache,
            title=title,
            alias=alias,
            label=label,
            tags=tag,
            as_json=as_json,
        )
    finally:
        store.close()
    finish(result)


def _rescore(
    store: Store, run_id: str, specs: list[ScorerSpec], *, as_json: bool, **options: Any
) -> RunRecord:
    job = prepare_rescore(store, named_run(store, run_id).id, specs, **options)
    progress, on_event = progress_bar(f"rescore {job.source.id[:8]}", as_json=as_json)
    try:
        with progress:
            result = asyncio.run(execute_rescore(store, job, on_event=on_event))
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]canceled[/]: run {job.run.id} is recorded as canceled with the cases"
            f" scored so far; run {job.source.id} is unchanged"
        )
        raise
    if as_json:
        console.print_json(json.dumps(result.model_dump(mode="json")))
    else:
        print_summary(store, result)
        if result.judge_token_count:
            console.print(
                f"judges spent {fmt_cost(result.judge_cost)}"
                f" ({result.judge_token_count} tokens); cost above repeats the source's"
            )
        console.print(f"re-scored from run [bold]{job.source.id}[/] (no model calls)")
    return result
