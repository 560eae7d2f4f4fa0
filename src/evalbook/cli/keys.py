"""``evalbook keys create|list|revoke``: API keys of the server's workspaces."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from evalbook.cli.console import console, err_console
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, create_key, list_keys, revoke_key

app = typer.Typer(help="API keys for `evalbook serve` (stored hashed).", no_args_is_help=True)


@app.command("create")
def create_command(
    workspace: str = typer.Option(
        DEFAULT_WORKSPACE,
        "--workspace",
        "-w",
        help="Workspace (created if new). The first key joins the default workspace, which"
        " holds what was recorded before keys, and gives it this name.",
    ),
    name: str = typer.Option("default", "--name", help="A label to tell keys apart."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create a key; it is printed once and never stored (only its hash is)."""
    store = Store.open()
    try:
        key, record = create_key(store, workspace, name)
    finally:
        store.close()
    if as_json:
        print(json.dumps({"key": key, "id": record.id, "workspace": workspace, "name": name}))
        return
    if record.workspace_id == DEFAULT_WORKSPACE and workspace != DEFAULT_WORKSPACE:
        err_console.print(
            f"first key: workspace {workspace!r} is the default workspace, with every run,"
            " suite and prompt recorded before keys (and what the CLI records from now on)"
        )
    err_console.print(
        f"created key {record.prefix}… ({name}) for workspace {workspace!r}; it is shown only now:"
    )
    print(key)


@app.command("list")
def list_command(
    workspace: str | None = typer.Option(None, "--workspace", "-w"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Keys (prefix, name, workspace, last use); never the keys themselves."""
    store = Store.open()
    try:
        keys = list_keys(store, workspace)
    finally:
        store.close()
    rows = [
        {
            "id": k.id,
            "prefix": k.prefix,
            "name": k.name,
            "workspace_id": k.workspace_id,
            "created_at": k.created_at.isoformat(),
            "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
            "revoked": k.revoked_at is not None,
        }
        for k in keys
    ]
    if as_json:
        print(json.dumps(rows))
        return
    columns = ("prefix", "name", "workspace_id", "created_at", "last_used_at", "revoked")
    table = Table()
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c] if row[c] is not None else "—") for c in columns))
    console.print(table)


@app.command("revoke")
def revoke_command(key: str = typer.Argument(..., help="Key id or prefix.")) -> None:
    """Revoke a key: requests with it answer 401 from now on."""
    store = Store.open()
    try:
        record = revoke_key(store, key)
    finally:
        store.close()
    err_console.print(f"revoked key {record.prefix}… ({record.name})")
