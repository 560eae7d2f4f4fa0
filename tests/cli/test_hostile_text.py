"""Text a model, a suite or a reviewer wrote reaches the terminal as written, and only as
text: never read as Rich markup (``[/]`` stopped ``runs show --results`` with an error),
its control characters written as escapes (an ESC sequence in an output could clear the
screen or retitle the window). Every command that prints stored text: ``runs show
--results``, the summary's errored cases, ``compare`` (flips, a case's diff), ``feedback``.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app
from evalbook.cli.console import shown
from evalbook.core.suite import Suite
from evalbook.errors import SuiteError
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

runner = CliRunner()
HOSTILE = "[/] [bold]b[/bold] \x1b[2J\x1b]0;title\x07 \x9b31m end"
#: What each of them reads as on the terminal.
WRITTEN = "[/] [bold]b[/bold] \\x1b[2J\\x1b]0;title\\x07 \\x9b31m end"
CASE = "c[/]\x1b[1m"
CASE_WRITTEN = "c[/]\\x1b[1m"


def test_shown_escapes_control_characters_and_reads_no_markup() -> None:
    assert shown(HOSTILE).plain == WRITTEN
    assert shown("two\nlines\tand\rreturn").plain == "two lines and return"
    assert shown("two\nlines\r", one_line=False).plain == "two\nlines\\x0d"
    assert shown("[red]x[/red]", "bold").spans == []  # the style is the Text's own
    assert shown(42).plain == "42"


async def _runs(store: Store, prompt: str) -> tuple[str, str]:
    def suite(template: str) -> Suite:
        return load_suite_from_dict(
            {
                "id": "hostile",
                "model": "mock:echo",
                "prompt": {"name": f"p{len(template)}", "template": template},
                "scorers": [{"contains": "end"}],
                "cases": [{"id": CASE, "vars": {"q": HOSTILE}}, {"id": "plain", "vars": {"q": 1}}],
            }
        )

    first = await evalbook.arun(suite("{{ q }}"), store=store)
    second = await evalbook.arun(suite(prompt), store=store)
    return first.id, second.id


def _invoke(db_url: str, *args: str) -> str:
    result = runner.invoke(app, list(args), env={"EVALBOOK_DATABASE_URL": db_url, "COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert (
        "\x1b" not in result.output and "\x9b" not in result.output and "\x07" not in result.output
    )
    return result.output


async def test_runs_show_lists_hostile_outputs_and_ids_as_written(
    store: Store, db_url: str
) -> None:
    _, run_id = await _runs(store, "{{ q }}")
    out = _invoke(db_url, "runs", "show", run_id, "--results")
    assert WRITTEN in out and CASE_WRITTEN in out
    lines = out.split("cases\n")[-1].splitlines()
    assert lines[0].split() == [
        "case",
        "epoch",
        "status",
        "score",
        "latency",
        "output",
        "/",
        "error",
    ]
    assert [line.split()[0] for line in lines[1:]] == [CASE_WRITTEN, "plain"]
    assert lines[1].split()[1:4] == ["0", "passed", "1.000"]
    failed = _invoke(db_url, "runs", "show", run_id, "--failed")
    assert [line.split()[0] for line in failed.split("cases\n")[-1].splitlines()[1:]] == ["plain"]


async def test_compare_shows_hostile_ids_and_diffs_as_written(store: Store, db_url: str) -> None:
    first, second = await _runs(store, "x")  # the second run answers "x": the case flips
    out = _invoke(db_url, "compare", first, second)
    assert CASE_WRITTEN in out
    diff = _invoke(db_url, "compare", first, second, "--case", CASE)
    assert f"case {CASE_WRITTEN}" in diff and WRITTEN in diff


async def test_feedback_shows_hostile_comments_as_written(store: Store, db_url: str) -> None:
    _, run_id = await _runs(store, "{{ q }}")
    recorded = _invoke(db_url, "feedback", run_id, CASE, "--score", "1", "--comment", HOSTILE)
    assert CASE_WRITTEN in recorded
    listed = _invoke(db_url, "feedback", run_id)
    assert WRITTEN in listed and CASE_WRITTEN in listed


async def test_the_summary_lists_an_errored_hostile_case_as_written(
    store: Store, db_url: str
) -> None:
    suite = load_suite_from_dict(
        {
            "id": "hostile-errors",
            "model": {"provider": "mock", "name": "fail", "params": {"kind": "fatal", "times": 9}},
            "prompt": "{{ q }}",
            "cases": [{"id": CASE, "vars": {"q": HOSTILE}}],
        }
    )
    run = await evalbook.arun(suite, store=store)
    assert run.counts.errored == 1
    out = _invoke(db_url, "runs", "show", run.id)
    assert "errored cases" in out and CASE_WRITTEN in out


async def test_runs_list_shows_a_hostile_alias_as_written(store: Store, db_url: str) -> None:
    suite = load_suite_from_dict(
        {"id": "hostile-list", "model": "mock:echo", "prompt": "hi", "cases": [{"id": "a"}]}
    )
    await evalbook.arun(suite, store=store, alias="nightly\x1b[2J[/]")
    listed = _invoke(db_url, "runs", "list")
    assert "nightly\\x1b[2J[/]" in listed


async def test_gate_names_a_hostile_newly_failing_case_as_written(
    store: Store, db_url: str
) -> None:
    first, second = await _runs(store, "x")  # the hostile case passes, then fails
    result = runner.invoke(
        app,
        ["gate", "--candidate", second, "--baseline", first, "--max-drop", "1"],
        env={"EVALBOOK_DATABASE_URL": db_url, "COLUMNS": "300"},
    )
    assert f"newly failing: 1 ({CASE_WRITTEN})" in result.output, result.output
    assert "\x1b" not in result.output


def test_an_error_message_is_printed_as_text(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from evalbook.cli import app as cli_app

    def failing(**_: object) -> None:
        raise SuiteError("s.yaml:3: bad value 'x\x1b[2J' [/] [bold]y\nsecond line")

    monkeypatch.setattr(cli_app, "app", failing)
    with pytest.raises(SystemExit) as exited:
        cli_app.main(["run", "s.yaml"])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err == "error: s.yaml:3: bad value 'x\\x1b[2J' [/] [bold]y\nsecond line\n"
