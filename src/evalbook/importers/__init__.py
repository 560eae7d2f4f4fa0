"""Read other tools' evals as evalbook suites: promptfoo, OpenAI evals, tables.

``evalbook import FORMAT SOURCE -o suite.yaml`` writes the suite file;
``evalbook run SOURCE`` takes a recognised foreign file as it is. Whatever cannot be
mapped is reported with its file and line, and an assertion that cannot be mapped stays
in the suite as an ``unsupported`` scorer that errors (see ``docs/migrating.md``).
"""

from evalbook.importers._model import ImportedSuite, ImportOptions, ImportReport, Note
from evalbook.importers._registry import IMPORTERS, Importer, detect_format, import_file

__all__ = [
    "IMPORTERS",
    "ImportOptions",
    "ImportReport",
    "ImportedSuite",
    "Importer",
    "Note",
    "detect_format",
    "import_file",
]
