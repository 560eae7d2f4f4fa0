"""``evalbook run SUITE.yaml``: run any suite against any provider and record it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from evalbook.cli import gate_options as gate_opt
from evalbook.errors import ConfigError, EvalbookError

if TYPE_CHECKING:
    from evalbook.executor.streamed import StreamedSuite


def _split_ids(value: str | None) -> list[str] | None:
    if not value:
        return None
    ids = [v.strip() for v in value.split(",") if v.strip()]
    return ids or None


def start_stream(path: Path, concurrency: int) -> StreamedSuite:
    """The suite at ``path`` loading in a thread (see ``executor/streamed.py``)."""
    from evalbook.executor.streamed import StreamedSuite, early_limit

    return StreamedSuite.start(path, limit=early_limit(concurrency))


def run_command(
    suite_path: Path = typer.Argument(
        ...,
        metavar="SUITE.yaml",
        help="Suite file to run, or another tool's file evalbook can import (promptfoo …).",
    ),
    models: list[str] = typer.Option(
        [],
        "--model",
        "-m",
        help="provider:model, e.g. openai:gpt-4o-mini; repeat it (or --prompt-version) to run"
        " every combination as one experiment",
    ),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="Send the model's requests (and an imported file's judges) to this endpoint.",
    ),
    prompt_versions: list[int] = typer.Option(
        [], "--prompt-version", help="Prompt version (default: latest); repeatable."
    ),
    baseline: int = typer.Option(
        1, "--baseline", min=1, help="With several combinations: the Nth is the baseline."
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
    concurrency: int | None = typer.Option(
        None, "--concurrency", "-c", min=1, help="Items in flight (default: 8)."
    ),
    max_cost: float | None = typer.Option(
        None, "--max-cost", min=0, help="Stop launching past this spend (USD)."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Ignore and do not fill the response cache."
    ),
    resume: str | None = typer.Option(
        None, "--resume", help="Re-run only what this run is missing (an id, latest or alias:NAME)."
    ),
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
    submit: bool = typer.Option(
        False,
        "--submit",
        help="Record the run and send it to the fleet (EVALBOOK_BROKER_URL) instead of"
        " executing it here; prints the run id.",
    ),
    shards: str = typer.Option(
        "auto", "--shards", help="With --submit: N shards, or auto (about 500 items each)."
    ),
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
    from evalbook.config import check_limits

    check_limits()  # a bad EVALBOOK_MAX_* stops here, not at the first write (paid for)
    # Loaded when the command runs, not when its help is drawn (`run --help` needs none).
    from evalbook.cli.combinations import (
        check_models,
        combinations,
        options_for,
        stand_in_notice,
    )
    from evalbook.cli.execution import finish, run_in_terminal
    from evalbook.cli.store import open_store_later
    from evalbook.core.run import DEFAULT_CONCURRENCY, RunOptions, RunStatus
    from evalbook.executor.launch import load_for_resume, prepare_run, prepare_streamed
    from evalbook.executor.streamed import streamable
    from evalbook.importers import ImportOptions, detect_format
    from evalbook.importers.load import load_any

    concurrency_given = concurrency is not None
    concurrency = concurrency or DEFAULT_CONCURRENCY
    rule_given = bool(metric) or any(
        v is not None
        for v in (min_score, max_drop, max_metric_drop, max_new_failures, alpha, noise_floor, noise)
    )
    # Parsed before the run, so a typo in a rule costs no model call; without any rule
    # or gate the gate's modules are not loaded at all.
    rules = (
        gate_opt.build_rules(
            min_score=min_score,
            max_drop=max_drop,
            max_metric_drop=max_metric_drop,
            metric=metric,
            max_new_failures=max_new_failures,
            alpha=alpha,
            noise_floor=noise_floor,
            noise=noise,
        )
        if rule_given or gate_against is not None
        else None
    )
    matrix = len(models) > 1 or len(prompt_versions) > 1
    if matrix and (resume or submit or gate_against):
        raise ConfigError(
            "several --model/--prompt-version run as a matrix: drop"
            " --resume/--submit/--gate-against"
        )
    if resume and (
        models or prompt_versions or any(v is not None for v in (cases, max_cost, base_url))
    ):
        raise ConfigError(
            "--resume continues a run as it was recorded;"
            " drop --model/--base-url/--prompt-version/--cases/--max-cost"
        )
    broker = ""
    if submit:  # the fleet's and the gate's modules load only when they are used
        from evalbook.cli.worker import fleet_broker

        broker = fleet_broker(shards)  # checked before anything is recorded
    # Opened when first used, or once a streamed run's first requests are out (see
    # cli/store.py): a streamed run needs no database before its suite is loaded.
    store, opening = open_store_later()
    if resume:
        from evalbook.storage.run_refs import named_run

        job = load_for_resume(store, named_run(store, resume).id)
        current = load_any(suite_path)[0]
        if current.hash != job.suite.hash:
            from evalbook.cli.console import err_console

            err_console.print(
                f"[yellow]warning:[/] {suite_path} changed since run {job.run.id} started;"
                " resuming with the suite as recorded"
            )
        job = replace(job, suite=job.suite.model_copy(update={"source": str(suite_path)}))
    else:
        # A suite file with a dataset starts loading in a thread: its first cases may be
        # asked while the rest is read (executor/streamed.py), when nothing needs them all.
        native = not submit and detect_format(suite_path) is None
        source = start_stream(suite_path, concurrency) if native else None
        head = source.head() if source is not None else None
        imported = None
        if source is None:
            suite, imported = load_any(suite_path, ImportOptions(base_url=base_url))
        else:
            suite = head if head is not None else source.suite()
        if imported is not None:
            from evalbook.cli.importing import report_import

            report_import(imported)
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
        combos = combinations(suite, models, prompt_versions, base_url)
        notice = stand_in_notice(suite, combos)
        if notice is not None:
            from evalbook.cli.console import err_console

            err_console.print(notice, markup=False, highlight=False)
        stream = (
            head is not None
            and len(combos) == 1
            and streamable(head, model=combos[0].model, case_ids=options.case_ids)
        )
        if source is not None and head is not None and not stream:
            source.decline()  # something needs every case first: load them all
            suite = source.suite()
        try:
            check_models(suite, combos)  # before any run is recorded
        except BaseException:
            if source is not None:
                source.stop()
            raise
        if len(combos) > 1:
            if submit or gate_against:
                raise ConfigError(
                    f"{suite_path} runs {len(combos)} combinations (its models:/"
                    "prompt_versions:): choose one with --model/--prompt-version, or drop"
                    " --submit/--gate-against"
                )
            # the comparison machinery is loaded only when a matrix ends with its table
            from evalbook.cli.matrix import run_matrix

            code = run_matrix(
                store, suite, combos, options=options, experiment=experiment,
                baseline=baseline, tags=tag, alias=alias, as_json=as_json,
            )  # fmt: skip
            raise typer.Exit(code)
        only = combos[0]
        chosen, prompt_version = only.model, only.version
        restricted = options_for(suite, only, options)
        if restricted is None:
            raise ConfigError(
                f"no case of {suite_path} runs with {only.label(suite)} (its case_filters)"
            )
        options = restricted
        label = label or only.name
        if stream and source is not None:
            try:
                job = prepare_streamed(
                    store, source, suite, model=chosen, prompt_version=prompt_version,
                    options=options, alias=alias, label=label, tags=tag,
                    experiment_id=experiment, title=title,
                )  # fmt: skip
            except BaseException:
                source.stop()
                raise
        else:
            job = prepare_run(
                store,
                suite,
                model=chosen,
                prompt_version=prompt_version,
                options=options,
                alias=alias,
                label=label,
                tags=tag,
                experiment_id=experiment,
                title=title,
            )
    if submit:
        from evalbook.cli.worker import submit_to_fleet

        asyncio.run(job.aclose())  # the fleet's workers build their own
        submit_to_fleet(store, broker, job.run.id, shards)
        return
    first_ask = None
    if job.stream is not None:  # the database opens beside the first requests
        first_ask = partial(opening.begin, on_failure=job.stream.source.fail)
    result = run_in_terminal(
        store, job, as_json=as_json, on_first_ask=first_ask, concurrency_given=concurrency_given
    )
    if gate_against is None:
        finish(result)
        return
    if result.status is not RunStatus.completed:
        raise EvalbookError(f"run {result.id} ended {result.status.value}; it cannot be gated")
    from evalbook.cli.console import console, err_console
    from evalbook.gate import gate

    assert rules is not None
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
