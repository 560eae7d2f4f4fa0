"""Suites from files: YAML suite files with JSONL / CSV datasets, and their JSON Schema.

``load_suite("suite.yaml")`` reads, validates and builds a :class:`~evalbook.core.Suite`;
every problem comes back in one :class:`~evalbook.errors.SuiteError` naming ``file:line``.
"""

from evalbook.suites.loader import load_suite, load_suite_from_dict, suite_from_cases
from evalbook.suites.schema import SCHEMA_ID, suite_json_schema

__all__ = [
    "SCHEMA_ID",
    "load_suite",
    "load_suite_from_dict",
    "suite_from_cases",
    "suite_json_schema",
]
