"""``evalbook schema suite|record``: the published JSON Schemas."""

from __future__ import annotations

import json

import typer

from evalbook.io.export import record_schema
from evalbook.suites import suite_json_schema

app = typer.Typer(help="Print a published JSON Schema.", no_args_is_help=True)


@app.command("suite")
def suite_schema() -> None:
    """JSON Schema of suite files (for editors and CI validation)."""
    typer.echo(json.dumps(suite_json_schema(), indent=2))


@app.command("record")
def record() -> None:
    """JSON Schema of the exported EvalRun interchange record."""
    typer.echo(json.dumps(record_schema(), indent=2))
