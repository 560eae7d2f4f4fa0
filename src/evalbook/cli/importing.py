"""``evalbook import FORMAT SOURCE -o suite.yaml``: another tool's evals as a suite file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from evalbook.cli.console import console, err_console
from evalbook.errors import SuiteError
from evalbook.importers import IMPORTERS, ImportedSuite, ImportOptions, import_file
from evalbook.suites.loader import load_suite_from_text


def import_command(
    format_name: str = typer.Argument(..., metavar="FORMAT", help="Source format, e.g. promptfoo."),
    source: Path = typer.Argument(..., help="The file to import."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Suite file to write (default: stdout)."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Use this model (provider:name) instead of the source's."
    ),
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="Point every OpenAI-style model and judge at this OpenAI-compatible endpoint.",
    ),
    input_column: str | None = typer.Option(
        None, "--input", help="table: the column the prompt sends."
    ),
    expected_column: str | None = typer.Option(
        None, "--expected", help="table: the column holding the reference answer."
    ),
    section_column: str | None = typer.Option(
        None, "--section", help="table: the column naming each case's section."
    ),
    id_column: str | None = typer.Option(None, "--id", help="table: the column of case ids."),
    choices_column: str | None = typer.Option(
        None, "--choices", help="table: the column of choices (a list, or text split on '|')."
    ),
    scorer: list[str] = typer.Option(
        [],
        "--scorer",
        help="table, inspect: a scorer spec (YAML, repeatable) instead of the default.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the import report as JSON."),
) -> None:
    """Write SOURCE (FORMAT: see --help of each) as an evalbook suite; whatever cannot be
    mapped is listed with its file and line."""
    if format_name not in IMPORTERS:
        known = ", ".join(IMPORTERS.names())
        raise typer.BadParameter(f"unknown format {format_name!r} (known: {known})")
    columns = {
        role: column
        for role, column in (
            ("input", input_column),
            ("expected", expected_column),
            ("section", section_column),
            ("id", id_column),
            ("choices", choices_column),
        )
        if column is not None
    }
    options = ImportOptions(model=model, base_url=base_url, columns=columns, scorers=tuple(scorer))
    imported = import_file(format_name, source, options)
    text = imported.to_yaml()
    if output is None:
        console.print(text, end="", markup=False, soft_wrap=True)
    else:
        output.write_text(text, encoding="utf-8")
        try:  # what was written must load, its relative paths from where it was written
            # (read back from the text: the output may be a pipe or /dev/null)
            load_suite_from_text(text, source=str(output), base_dir=output.parent)
        except SuiteError as exc:
            raise SuiteError(f"the imported suite does not load: {exc}") from exc
    report_import(imported, written=output, as_json=as_json)


def report_import(
    imported: ImportedSuite, *, written: Path | None = None, as_json: bool = False
) -> None:
    """The notes and the summary line, on stderr (stdout when ``--json``)."""
    report = imported.report
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "tool": report.tool,
                    "source": report.source,
                    "output": str(written) if written else None,
                    "assertions": report.assertions,
                    "assertions_mapped": report.assertions_mapped,
                    "summary": report.summary(),
                    "notes": [
                        {
                            "file": n.file,
                            "line": n.line,
                            "feature": n.feature,
                            "message": n.message,
                            "mapped": n.mapped,
                        }
                        for n in report.sorted_notes()
                    ],
                }
            )
        )
        return
    for note in report.sorted_notes():
        colour = "dim" if note.mapped else "yellow"
        err_console.print(f"[{colour}]{escape(str(note))}[/]", soft_wrap=True)
    target = f" → {written}" if written else ""
    err_console.print(
        f"{escape(report.source)}{escape(target)}: {report.summary()}", soft_wrap=True
    )
