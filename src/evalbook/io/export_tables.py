"""Run exports for the ecosystem: JUnit XML for CI reporters, Parquet for analysis.

- ``junit``: one ``testsuite`` (the run) with a ``testcase`` per result, named by case id
  (and epoch), class ``SUITE_ID``; a failed case is a ``failure`` listing the scorers
  that failed with their rationales, an errored case an ``error`` with its type and
  message, and the output is the ``system-out``. CI tools (GitHub, GitLab, Jenkins) show
  a run's failing cases like failing unit tests.
- ``parquet``: one row per result for pandas / DuckDB / Polars, the scores as columns
  (``score.NAME``, ``passed.NAME``), with the case's fields, latency, tokens and cost;
  written to a file (``-o``), through pyarrow (``pip install 'evalbook[parquet]'``).

Given the store the results come from, both say what was changed in a result to store it
(``storage.stored_changes``): a ``stored_change`` property per change on the JUnit test
case, the notes joined by ``; `` in the Parquet column ``stored_changes`` (null if none).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from evalbook.core.result import Result, ResultStatus
from evalbook.core.run import RunRecord
from evalbook.errors import ConfigError
from evalbook.storage.store import Store
from evalbook.storage.stored_changes import StoredChange, with_stored_changes

__all__ = ["write_junit", "write_parquet"]

_XML_BAD = {c: None for c in range(32) if c not in (9, 10, 13)}


def _text(value: str | None) -> str:
    """Text XML 1.0 can hold (control characters dropped)."""
    return (value or "").translate(_XML_BAD)


def _pairs(
    results: Iterable[Result], stored: Store | None
) -> Iterator[tuple[Result, list[StoredChange]]]:
    return with_stored_changes(stored, results) if stored else ((r, []) for r in results)


def write_junit(
    run: RunRecord, results: Iterable[Result], out: TextIO, stored: Store | None = None
) -> int:
    """The run as JUnit XML on ``out``; returns the number of test cases."""
    root = ET.Element("testsuites", name=f"evalbook {run.suite_id}")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=_text(run.title),
        id=run.id,
        timestamp=run.created_at.isoformat(),
    )
    props = ET.SubElement(suite, "properties")
    for key, value in (
        ("run_id", run.id),
        ("suite", f"{run.suite_id}@{run.suite_version}"),
        ("prompt", f"{run.prompt_name} v{run.prompt_version}"),
        ("model", f"{run.model.get('provider')}:{run.model.get('name')}"),
        ("score", "" if run.score is None else f"{run.score:.6g}"),
    ):
        ET.SubElement(props, "property", name=key, value=_text(value))
    n = failures = errors = 0
    total_s = 0.0
    for result, changes in _pairs(results, stored):
        n += 1
        name = result.case_id if not result.epoch else f"{result.case_id} (epoch {result.epoch})"
        seconds = (result.latency_ms or 0.0) / 1000
        total_s += seconds
        case = ET.SubElement(
            suite, "testcase", classname=run.suite_id, name=_text(name), time=f"{seconds:.3f}"
        )
        if changes:
            listed = ET.SubElement(case, "properties")
            for change in changes:
                ET.SubElement(listed, "property", name="stored_change", value=_text(change.note))
        if result.status is ResultStatus.error:
            errors += 1
            message = _text(result.error_message or "error")
            ET.SubElement(
                case, "error", message=message[:500], type=result.error_type or "Error"
            ).text = message
        elif result.status is ResultStatus.failed:
            failures += 1
            failed = [s for s in result.scores if s.passed is False]
            lines = [
                f"{s.name}: score {s.score if s.score is not None else '-'}"
                + (f" — {s.evidence.rationale}" if s.evidence.rationale else "")
                for s in failed
            ]
            summary = ", ".join(s.name for s in failed) or "failed"
            ET.SubElement(
                case, "failure", message=_text(f"failed: {summary}"), type="Assertion"
            ).text = _text("\n".join(lines))
        if result.output is not None:
            ET.SubElement(case, "system-out").text = _text(result.output)
    suite.set("tests", str(n))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("time", f"{total_s:.3f}")
    for key in ("tests", "failures", "errors"):
        root.set(key, suite.get(key, "0"))
    ET.indent(root)
    out.write(
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
    )
    return n


def write_parquet(
    run: RunRecord, results: Iterable[Result], path: Path, stored: Store | None = None
) -> int:
    """One row per result, scores as columns, to the Parquet file ``path``."""
    try:
        import pyarrow as pa  # type: ignore[import-untyped, import-not-found, unused-ignore]
        import pyarrow.parquet as pq  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError as exc:
        raise ConfigError("Parquet export needs pyarrow: pip install 'evalbook[parquet]'") from exc
    rows: list[dict[str, Any]] = []
    names: dict[str, None] = {}
    for result, changes in _pairs(results, stored):
        row: dict[str, Any] = {
            "run_id": run.id,
            "suite_id": run.suite_id,
            "model": f"{run.model.get('provider')}:{run.model.get('name')}",
            "prompt_version": run.prompt_version,
            "case_id": result.case_id,
            "epoch": result.epoch,
            "status": result.status.value,
            "section": result.section,
            "score": result.score,
            "output": result.output,
            "expected": result.expected,
            "prompt": result.prompt,
            "latency_ms": result.latency_ms,
            "input_tokens": result.input_tokens,
            "output_tokens": result.output_tokens,
            "cost_usd": result.cost_usd,
            "cached": result.cached,
            "error_message": result.error_message,
            "stored_changes": "; ".join(c.note for c in changes) or None,
        }
        for score in result.scores:
            names.setdefault(score.name, None)
            row[f"score.{score.name}"] = score.score
            row[f"passed.{score.name}"] = score.passed
        rows.append(row)
    columns = {key: [row.get(key) for row in rows] for key in _columns(rows, names)}
    schema = pa.schema([(key, _type(pa, key)) for key in columns])
    pq.write_table(pa.table(columns, schema=schema), path)
    return len(rows)


_TYPES = {
    "prompt_version": "int64", "epoch": "int64", "input_tokens": "int64",
    "output_tokens": "int64", "cached": "bool_", "score": "float64", "latency_ms": "float64",
    "cost_usd": "float64",
}  # fmt: skip


def _columns(rows: list[dict[str, Any]], names: dict[str, None]) -> list[str]:
    base = list(rows[0]) if rows else ["run_id", "case_id", "status", "score"]
    fixed = [k for k in base if not k.startswith(("score.", "passed."))]
    return fixed + [f"{p}.{n}" for n in names for p in ("score", "passed")]


def _type(pa: Any, key: str) -> Any:
    if key.startswith("score."):
        return pa.float64()
    if key.startswith("passed."):
        return pa.bool_()
    return getattr(pa, _TYPES.get(key, "string"))()
