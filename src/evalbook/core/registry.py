"""One registry primitive for every pluggable kind (providers, scorers, exporters).

Entries are lazy: a name maps to a ``"module:attr"`` string until first use, so that
importing evalbook never imports an SDK it does not need. Built-ins are declared as entry
points in ``pyproject.toml`` exactly like third-party plugins; :meth:`Registry.register`
adds entries at run time (``@evalbook.scorer``, ``@evalbook.provider``).

The installed entry points are read once per process, every group in one pass
(:func:`installed`): a pass reads the metadata of every installed distribution (~3.5 ms
with 140 of them), and ``evalbook run`` looks two kinds up before its first request (a
server, every kind). A distribution installed after that pass is seen after a restart.
"""

from __future__ import annotations

import importlib
import threading
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from evalbook.errors import ConfigError, UnknownNameError

T = TypeVar("T")

_installed: dict[str, list[tuple[str, str]]] = {}
#: ``entry_points()`` read once: a dict of groups on Python 3.11, a flat list after; both
#: ``select(group=...)``.
_everything: Any = None
_installed_lock = threading.Lock()


def installed(group: str) -> list[tuple[str, str]]:
    """``(name, "module:attr")`` of the installed entry points of ``group``, as
    ``entry_points(group=group)`` gives them; every group is read at the first call."""
    global _everything
    with _installed_lock:
        if group not in _installed:
            if _everything is None:
                _everything = entry_points()
            chosen = _everything.select(group=group)
            _installed[group] = [(ep.name, ep.value) for ep in chosen]
        return _installed[group]


class Registry(Generic[T]):
    """Names → objects of one kind, filled from an entry-point group on first lookup."""

    def __init__(self, kind: str, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, T | str] = {}
        self._loaded_entry_points = False
        self._lock = threading.Lock()

    def _load_entry_points(self) -> None:
        if self._loaded_entry_points:
            return
        # Server threads look names up concurrently: the flag is set once the entries are
        # in, or a second thread would find the registry empty.
        with self._lock:
            if self._loaded_entry_points:
                return
            for name, target in installed(self.group):
                # Run-time registrations win over installed entry points of the same name.
                self._entries.setdefault(name, target)
            self._loaded_entry_points = True

    def register(self, name: str, obj: T | str, *, replace: bool = False) -> None:
        """Add ``obj`` (or a lazy ``"module:attr"`` string) under ``name``."""
        self._load_entry_points()
        if name in self._entries and not replace and self._entries[name] != obj:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def target(self, name: str) -> str:
        """Where ``name`` comes from, as ``module:attr``, without importing it."""
        self._load_entry_points()
        try:
            entry = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None
        if isinstance(entry, str):
            return entry
        return f"{getattr(entry, '__module__', '?')}:{getattr(entry, '__qualname__', '?')}"

    def get(self, name: str) -> T:
        """The object registered as ``name``; unknown names raise with suggestions."""
        self._load_entry_points()
        try:
            entry = self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None
        if isinstance(entry, str):
            entry = self._resolve(name, entry)
            self._entries[name] = entry
        return entry

    def _resolve(self, name: str, target: str) -> T:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name)
            obj: T = getattr(module, attr) if attr else module  # type: ignore[assignment]
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"{self.kind} {name!r} ({target}) could not be loaded: {exc}"
            ) from exc
        return obj
