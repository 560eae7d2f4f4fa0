"""The store of a CLI command, closed when the command ends (also inside tests that call
commands in-process, where an unclosed PostgreSQL connection would outlive the test)."""

from __future__ import annotations

import click

from evalbook.storage.store import Store


def open_store() -> Store:
    store = Store.open()
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(store.close)
    return store
