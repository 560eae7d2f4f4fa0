"""``evalbook run SUITE.yaml``: run any suite against any provider and record it."""

from __future__ import annotations

from pathlib import Path

import typer

from evalbook.cli import gate_options as gate_opt
from evalbook.cli.console import console, err_console
from evalbook.cli.execution import finish, run_in_terminal
from evalbook.cli.store import open_store
from evalbook.core.run import RunOptions, RunStatus
from evalbook.errors import ConfigError, EvalbookError
from evalbook.executor.launch import load_for_resume, prepare_run
from evalbook.gate import gate
from evalbook.suites import load_suite


def _split_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    ids = [v.strip() for v in value.split(",") if v.strip()]
    return ids or None


def run_command(
    suite_path: Path = typer.Argument(..., metavar="SUITE.yaml", help="Suite file to run."),
    model: str | None = typer.Option(
        None, "--model", "-m", help="provider:model, e.g. openai:gpt-4o-mini"
    ),
    prompt_version: int | None = typer.Option(
        None, "--prompt-version", help="Prompt version (default: latest)."
    ),
    alias: str | None = typer.Option(
        None, "--alias", help="A stable name to group runs by (e.g. 'prod')."
    ),
    label: str | None = typer.Option(None, "--label", help="A free label for this run."),
    tag: list[str] = typer.Option([], "--tag", help="Tag the run (repeatable)."),
    cases: str | None = typer.Option(
        None, "--cases", help="Only these case ids (comma-separated)."
    ),
    epochs: int = typer.Option(1, "--epochs", min=1, help="Run every case K times."),
    concurrency: int = typer.Option(8, "--concurrency", "-c", min=1, help="Items in flight."),
    max_cost: float | None = typer.Option(
        None, "--max-cost", min=0, help="Stop launching past this spend (USD)."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ignore and do not fill the response cache."
    ),
    resume: str | None = typer.Option(None, "--resume", help="Re-run only what RUN_ID is missing."),
    experiment: str | None = typer.Option(
        None, "--experiment", help="Experiment id grouping runs."
    ),
    title: str | None = typer.Option(None, "--title", help="Display title of the run."),
    max_attempts: int | None = typer.Option(
        None, "--max-attempts", min=1, help="Attempts per model call (default: the budget's)."
    ),
    retry_budget: float = typer.Option(
        600.0,
        "--retry-budget",
        min=0.001,
        help="Seconds a call may spend retrying rate limits and 5xx before its case errors.",
    ),
    max_error_rate: float = typer.Option(
        0.0,
        "--max-error-rate",
        min=0,
        max=100,
        help="Percent of cases that may error in a passing run (render errors: none).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the run record as JSON."),
    gate_against: str | None = typer.Option(
        None,
        "--gate-against",
        help="Then gate this run against a baseline (run id, latest, alias:NAME);"
        " the exit code becomes the gate's.",
    ),
    min_score: float | None = gate_opt.MIN_SCORE,
    max_drop: float | None = gate_opt.MAX_DROP,
    max_metric_drop: float | None = gate_opt.MAX_METRIC_DROP,
    metric: list[str] = gate_opt.METRIC,
    max_new_failures: int | None = gate_opt.MAX_NEW_FAILURES,
    alpha: float | None = gate_opt.ALPHA,
    noise_floor: float | None = gate_opt.NOISE_FLOOR,
    noise: Path | None = gate_opt.NOISE,
    markdown: Path | None = gate_opt.MARKDOWN,
    junit: Path | None = gate_opt.JUNIT,
    verdict_path: Path | None = gate_opt.VERDICT,
) -> None:
    """Run SUITE.yaml and record every case."""
    rules = gate_opt.build_rules(
        min_score=min_score,
        max_drop=max_drop,
        max_metric_drop=max_metric_drop,
        metric=metric,
        max_new_failures=max_new_failures,
        alpha=alpha,
        noise_floor=noise_floor,
        noise=noise,
    )  # parsed before the run, so a typo in a rule costs no model call
    if resume and any(v is not None for v in (model, prompt_version, cases, max_cost)):
        raise ConfigError(
            "--resume continues a run as it was recorded;"
            " drop --model/--prompt-version/--cases/--max-cost"
        )
    store = open_store()
    if resume:
        run, suite, version, config = load_for_resume(store, resume)
        current = load_suite(suite_path)
        if current.hash != suite.hash:
            err_console.print(
                f"[yellow]warning:[/] {suite_path} changed since run {run.id} started;"
                " resuming with the suite as recorded"
            )
        suite = suite.model_copy(update={"source": str(suite_path)})
    else:
        suite = load_suite(suite_path)
        options = RunOptions(
            concurrency=concurrency,
            epochs=epochs,
            case_ids=_split_ids(cases),
            max_cost=max_cost,
            use_cache=not no_cache,
            max_attempts=max_attempts,
            retry_budget_s=retry_budget,
            max_error_rate=max_error_rate,
        )
        run, version, config, _ = prepare_run(
            store,
            suite,
            model=model,
            prompt_version=prompt_version,
            options=options,
            alias=alias,
            label=label,
            tags=tag,
            experiment_id=experiment,
            title=title,
        )
    result = run_in_terminal(store, run, suite, version, config, as_json=as_json)
    if gate_against is None:
        finish(result)
        return
    if result.status is not RunStatus.completed:
        raise EvalbookError(f"run {result.id} ended {result.status.value}; it cannot be gated")
    verdict = gate(store, rules=rules, candidate=result, baseline=gate_against)
    code = gate_opt.emit(
        verdict,
        markdown=markdown,
        junit=junit,
        verdict_path=verdict_path,
        as_json=False,
        out=err_console if as_json else console,
    )
    raise typer.Exit(code)
