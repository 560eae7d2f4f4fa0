"""The store of a CLI command, closed when the command ends (also inside tests that call
commands in-process, where an unclosed PostgreSQL connection would outlive the test).

``evalbook run`` opens its store late (:func:`open_store_later`): importing the storage
layer (SQLAlchemy, the tables) and opening the database took 0.24 s of the 0.55 s before
a run's first model request, and a streamed run (``executor/streamed.py``) needs no
database before its suite is loaded and its run recorded. The store is opened on its first
use (on whichever thread uses it first), or on a thread of its own once the run's first
requests are out (:meth:`OpeningStore.begin`). Whatever needs it before that (a cached
run's first cache lookups, a non-streamed run's record) waits for it as it always did.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

# Typer carries its own copy of click: its context, not the ``click`` package's, is the
# one a command runs in.
from typer._click.globals import get_current_context

from evalbook.errors import EvalbookError, StorageError

if TYPE_CHECKING:
    from evalbook.storage.store import Store

__all__ = ["OpeningStore", "open_store", "open_store_later"]


def open_store() -> Store:
    from evalbook.storage.store import Store

    store = Store.open()
    _close_with_command(store.close)
    return store


def open_store_later() -> tuple[Store, OpeningStore]:
    """The command's store, opened when first used (see the module); the same object
    twice: as the store every caller takes, and as itself (to :meth:`~OpeningStore.begin`
    opening it)."""
    opening = OpeningStore()
    _close_with_command(opening.close)
    return cast("Store", opening), opening


def _close_with_command(close: Any) -> None:
    ctx = get_current_context(silent=True)
    if ctx is not None:
        ctx.call_on_close(close)


class OpeningStore:
    """A :class:`~evalbook.storage.store.Store` opened on first use: every attribute is
    the opened store's. Opening it fails with a :class:`StorageError` saying which
    database could not be opened (each use raises it again), so a run that could not
    be recorded ends with that error, never a success."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._begun = threading.Lock()
        self._thread: threading.Thread | None = None
        self._store: Store | None = None
        self._error: BaseException | None = None

    def begin(self, on_failure: Callable[[BaseException], object] | None = None) -> None:
        """Start opening the store on a thread of its own (at most once); if that fails,
        ``on_failure(error)`` is told at once (a streamed run stops asking then)."""
        with self._begun:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._open, args=(on_failure,), name="evalbook-store-open", daemon=True
            )
            self._thread.start()

    def _open(self, on_failure: Callable[[BaseException], object] | None) -> None:
        try:
            self.get()
        except BaseException as exc:  # kept: raised again to whoever uses the store
            if on_failure is not None:
                on_failure(exc)

    def get(self) -> Store:
        """The opened store (opened here if nobody has yet)."""
        with self._lock:
            if self._store is None and self._error is None:
                self._store, self._error = _open()
        if self._error is not None:
            raise self._error
        assert self._store is not None
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def close(self) -> None:
        """Close the store if it was opened (after an opening under way ends)."""
        with self._begun:
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._lock:
            store = self._store
        if store is not None:
            store.close()


def _open() -> tuple[Store | None, BaseException | None]:
    from evalbook.config import database_url

    try:
        from evalbook.storage.store import Store

        return Store.open(), None
    except EvalbookError as exc:
        return None, exc
    except Exception as exc:
        try:
            from evalbook.storage.db import redact_url

            where = redact_url(database_url())
        except Exception:
            where = "the database"
        cause = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapping says less
        error = StorageError(f"cannot open {where}: {cause}; nothing was recorded")
        error.__cause__ = exc
        return None, error
