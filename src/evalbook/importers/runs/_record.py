"""Parse a results file (everything checked first), then record its runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from evalbook.core.run import RunRecord
from evalbook.errors import ConfigError, SuiteError
from evalbook.executor.imported import ImportedRun, record_imported_run
from evalbook.storage.store import Store

__all__ = ["RUN_FORMATS", "import_runs"]

Parser = Callable[[Path, str | None], list[ImportedRun]]


def _formats() -> dict[str, Parser]:
    from evalbook.importers.runs._inspect import parse_inspect_log
    from evalbook.importers.runs._promptfoo import parse_promptfoo_results

    return {"promptfoo": parse_promptfoo_results, "inspect": parse_inspect_log}


RUN_FORMATS: tuple[str, ...] = ("promptfoo", "inspect")


def import_runs(
    store: Store, format_name: str, path: str | Path, *, suite_id: str | None = None
) -> list[RunRecord]:
    """Record the runs of ``path`` (one per prompt × provider of the source). The whole
    file is parsed and checked before the first run is written, so a corrupt file
    records nothing."""
    parsers = _formats()
    if format_name not in parsers:
        raise ConfigError(f"unknown results format {format_name!r} (known: {', '.join(parsers)})")
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"no such file: {path}", location=str(path))
    runs = parsers[format_name](path, suite_id)
    return [record_imported_run(store, run) for run in runs]
