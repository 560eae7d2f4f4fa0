"""The importer registry: formats by name, built-ins declared as entry points.

An importer is a function ``(path, options) -> ImportedSuite`` plus a ``sniff`` that says
whether a parsed file is its format, so ``evalbook run promptfooconfig.yaml`` can take
another tool's file as it is. Third-party formats register in the ``evalbook.importers``
entry-point group exactly as the built-ins do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalbook.core.registry import Registry
from evalbook.errors import SuiteError
from evalbook.importers._model import ImportedSuite, ImportOptions
from evalbook.suites.yaml_lines import parse_yaml

__all__ = ["IMPORTERS", "Importer", "detect_format", "import_file"]


@dataclass(frozen=True)
class Importer:
    """One foreign format: ``load`` reads it; ``sniff`` recognises its parsed YAML/JSON
    (``None`` for formats that are never taken without being named)."""

    name: str
    description: str
    load: Callable[[Path, ImportOptions], ImportedSuite]
    sniff: Callable[[Any], bool] | None = None


IMPORTERS: Registry[Importer] = Registry("importer", "evalbook.importers")


def import_file(
    format_name: str, path: str | Path, options: ImportOptions | None = None
) -> ImportedSuite:
    """Import ``path`` as ``format_name`` (``promptfoo``, ``openai-evals``, …)."""
    importer = IMPORTERS.get(format_name)
    path = Path(path)
    if not path.is_file():
        raise SuiteError(f"no such file: {path}", location=str(path))
    return importer.load(path, options or ImportOptions())


def detect_format(path: str | Path) -> str | None:
    """The name of the foreign format of a YAML/JSON file, or ``None`` (an evalbook
    suite, or a format no importer recognises)."""
    path = Path(path)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
        # lm-eval's ``!function`` tags are not YAML the safe loader takes: read as text
        text = re.sub(r"!function\s+([\w.]+)", r'"!function \1"', text)
        data = parse_yaml(text, str(path))
    except (OSError, UnicodeDecodeError, SuiteError):
        return None  # the suite loader reports what is wrong with it
    if not isinstance(data, dict) or "cases" in data:
        return None
    for name in IMPORTERS.names():
        importer = IMPORTERS.get(name)
        if importer.sniff is not None and importer.sniff(data):
            return name
    return None
