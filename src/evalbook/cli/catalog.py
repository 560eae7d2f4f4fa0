"""``evalbook scorers list`` and ``evalbook providers list``: what a suite may name."""

from __future__ import annotations

import json

import typer
from rich.markup import escape
from rich.table import Table

from evalbook.cli.console import console

scorers_app = typer.Typer(help="The scorers a suite can name.", no_args_is_help=True)
providers_app = typer.Typer(help="The model providers a model spec can name.", no_args_is_help=True)


@scorers_app.command("list")
def scorers_list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every registered scorer: its kind, whether it takes a value, its options."""
    from evalbook.scorers.catalog import describe_scorers

    scorers = describe_scorers()
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in scorers], indent=2))
        return
    table = Table(show_lines=False)
    table.add_column("scorer", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("value")
    table.add_column("options", overflow="fold")
    for s in scorers:
        if s.problem:
            table.add_row(s.name, "?", "", f"[red]{escape(s.problem)}[/]")
            continue
        value = "required" if s.requires_value else ("expected" if s.uses_expected else "")
        if not s.takes_value:
            value = "none"
        options = "\n".join(
            f"{o.name}: {o.type}" + ("" if o.required else f" = {json.dumps(o.default)}")
            for o in s.options
        )
        table.add_row(s.name, s.kind or "", value or "optional", escape(options))
    console.print(table)
    console.print(
        "[dim]value: what the spec's value is (`{contains: x}`); 'expected' = defaults to the"
        " case's expected. Prefix any type with `not-` to negate it.[/]"
    )


@providers_app.command("list")
def providers_list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every registered provider, with the model specs that name it."""
    from evalbook.providers.catalog import describe_providers

    providers = describe_providers()
    if as_json:
        typer.echo(json.dumps([p.to_json() for p in providers], indent=2))
        return
    table = Table()
    table.add_column("provider", no_wrap=True)
    table.add_column("model spec", overflow="fold")
    table.add_column("what it is")
    for p in providers:
        table.add_row(p.name, escape("\n".join(p.forms)), escape(p.summary))
    console.print(table)
