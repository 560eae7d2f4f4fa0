"""Import another tool's finished results as evalbook runs (``evalbook import-run``)."""

from evalbook.importers.runs._promptfoo import parse_promptfoo_results
from evalbook.importers.runs._record import RUN_FORMATS, import_runs

__all__ = ["RUN_FORMATS", "import_runs", "parse_promptfoo_results"]
