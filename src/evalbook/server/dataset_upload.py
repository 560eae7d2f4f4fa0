"""A dataset (JSONL or CSV) sent to the server becomes a new version of a suite: the
suite's prompt, scorers and threshold over the dataset's rows. ``POST
/api/suites/{id}/datasets`` and the launch sheet's upload both call
:func:`register_dataset`, so the two give the same version for the same file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from evalbook.config import render_limits
from evalbook.core.suite import Suite
from evalbook.errors import SuiteError
from evalbook.prompts import check_render_limits
from evalbook.server.launching import latest_ref, registered_suite
from evalbook.storage.catalog import Registration, SuiteRef, register_suite
from evalbook.storage.store import Store
from evalbook.suites.derive import suite_with_dataset

__all__ = [
    "DATASET_TYPES",
    "MAX_DATASET_BYTES",
    "SavedDataset",
    "dataset_suite",
    "display_name",
    "register_dataset",
    "register_dataset_suite",
]

#: Media types a dataset body may have, and the file kind each means.
DATASET_TYPES = {
    "text/csv": ".csv",
    "application/jsonl": ".jsonl",
    "application/jsonlines": ".jsonl",
    "application/x-jsonlines": ".jsonl",
    "application/x-ndjson": ".jsonl",
}
#: The largest dataset one request may send.
MAX_DATASET_BYTES = 50 * 1024 * 1024
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class SavedDataset:
    """The suite version a dataset became, and whether this upload registered it
    (``created``), found it already there (``exists``), or met the same version with
    other cases (``conflict``: nothing was registered)."""

    suite: Suite
    ref: SuiteRef | None
    state: Registration


def display_name(filename: str, suffix: str) -> str:
    """The name errors cite: the file's own name (no folders, no control characters)."""
    name = _UNSAFE.sub("", PurePosixPath(filename.replace("\\", "/")).name)[:200]
    if not name.lower().endswith(suffix):
        name = f"{name or 'dataset'}{suffix}"
    return name


def dataset_suite(
    store: Store,
    workspace_id: str,
    suite_id: str,
    data: bytes,
    filename: str,
    *,
    base_version: str | None = None,
    version: str | None = None,
) -> Suite:
    """The suite version the dataset ``data`` (named ``filename``, whose suffix says
    JSONL or CSV) makes of the workspace's suite ``suite_id`` (built on ``base_version``,
    default its latest), checked but not registered (the launch sheet's estimate counts
    its cases). Problems raise ``SuiteError`` naming ``file:line``; an unknown suite,
    ``NotFoundError``."""
    base = registered_suite(
        store, workspace_id, latest_ref(store, workspace_id, suite_id, base_version)
    )
    if len(data) > MAX_DATASET_BYTES:
        raise SuiteError(f"{filename}: the file is over {MAX_DATASET_BYTES // 2**20} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SuiteError(f"{filename}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise SuiteError(f"{filename}:{line}: a NUL character (not accepted in text)")
    suite = suite_with_dataset(base, text, filename, version=version)
    check_render_limits(suite, render_limits())
    return suite


def register_dataset(
    store: Store,
    workspace_id: str,
    suite_id: str,
    data: bytes,
    filename: str,
    *,
    base_version: str | None = None,
    version: str | None = None,
) -> SavedDataset:
    """Register the suite version :func:`dataset_suite` makes (same arguments, same
    errors)."""
    suite = dataset_suite(
        store, workspace_id, suite_id, data, filename, base_version=base_version, version=version
    )
    return register_dataset_suite(store, workspace_id, suite)


def register_dataset_suite(store: Store, workspace_id: str, suite: Suite) -> SavedDataset:
    """Register a suite version :func:`dataset_suite` made (and checked)."""
    _hash, state = register_suite(store, workspace_id, suite)
    ref = None if state == "conflict" else latest_ref(store, workspace_id, suite.id, suite.version)
    return SavedDataset(suite, ref, state)
