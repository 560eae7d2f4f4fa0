"""Load any suite file: an evalbook suite, or another tool's file in a known format."""

from __future__ import annotations

from pathlib import Path

from evalbook.core.suite import Suite
from evalbook.importers._model import ImportedSuite, ImportOptions
from evalbook.importers._registry import detect_format, import_file
from evalbook.suites import load_suite

__all__ = ["load_any"]


def load_any(
    path: str | Path, options: ImportOptions | None = None
) -> tuple[Suite, ImportedSuite | None]:
    """The suite at ``path``; a recognised foreign file is imported first (its report
    is returned with it, so the caller can show what was not mapped)."""
    found = detect_format(path)
    if found is None:
        return load_suite(path), None
    imported = import_file(found, path, options)
    return imported.load(), imported
