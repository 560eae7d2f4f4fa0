"""``evalbook db upgrade|current``: the schema migrations."""

from __future__ import annotations

import typer

from evalbook.cli.console import console
from evalbook.config import database_url
from evalbook.storage.db import current_revision, head_revision, make_engine, redact_url, upgrade

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command() -> None:
    """Bring the database schema to the latest revision."""
    url = database_url()
    engine = make_engine(url)
    upgrade(engine)
    console.print(f"{redact_url(url)} is at revision {current_revision(engine)}")


@app.command("current")
def current_command() -> None:
    """Show the database's schema revision and the latest one."""
    url = database_url()
    engine = make_engine(url)
    console.print(
        f"{redact_url(url)}: revision {current_revision(engine) or 'none'}"
        f" (latest {head_revision()})"
    )
