"""The store of a CLI command, closed when the command ends (also inside tests that call
commands in-process, where an unclosed PostgreSQL connection would outlive the test)."""

from __future__ import annotations

# Typer carries its own copy of click: its context, not the ``click`` package's, is the
# one a command runs in.
from typer._click.globals import get_current_context

from evalbook.storage.store import Store


def open_store() -> Store:
    store = Store.open()
    ctx = get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(store.close)
    return store
