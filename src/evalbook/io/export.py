"""Exports: every result as the seed's ``EvalRun`` interchange record, one per (case, scorer).

Human feedback, when given (``human``: verdicts from ``analysis.feedback.human_verdicts``),
adds one record of scorer type ``human`` per (case, feedback name) with a score: the mean of
each reviewer's latest score, normalised to [0, 1], the comments as its rationale. It takes
the place of the ``human`` scorer's "awaiting review" record of the same criterion.

A result whose values were changed to store it (cut at ``EVALBOOK_MAX_STORED_BYTES``, a
NUL replaced by U+FFFD: ``storage.stored_changes``) says so, as the schema admits no field
of our own: one tag per change, ``stored_change: output truncated from 60.5 KiB to 19.5 KiB
when stored``, after the case's tags (in CSV, the ``stored_changes`` column instead).

Formats: ``jsonl`` (one record a line, streamed), ``json`` (a JSON array), ``csv``
(flattened columns). Optional fields with no value are left out rather than written as
``null``, so every record validates against the published schema.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from evalbook.core.feedback import HumanVerdict
from evalbook.core.identity import stable_uuid
from evalbook.core.result import Result, ScoreRecord
from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.storage.store import Store
from evalbook.storage.stored_changes import StoredChange, with_stored_changes

FORMATS = ("jsonl", "json", "csv")
SCHEMA_PATH = Path(__file__).with_name("eval_run_record.schema.json")


def record_schema() -> dict[str, Any]:
    """The seed 001 ``EvalRun`` structure as a JSON Schema (draft 2020-12)."""
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _served_build(result: Result) -> str | None:
    if result.served_model and result.system_fingerprint:
        return f"{result.served_model}+{result.system_fingerprint}"
    return result.served_model or result.system_fingerprint


#: ``result_id → verdicts``: human feedback to export with the results.
HumanFeedback = Mapping[str, Sequence[HumanVerdict]]


def _criterion(score: ScoreRecord) -> str:
    details = score.evidence.details or {}
    return str(details.get("criterion") or score.name)


#: The tag of a stored change, before its note.
STORED_TAG = "stored_change: "


def result_records(
    run: RunRecord,
    result: Result,
    human: Sequence[HumanVerdict] = (),
    changes: Sequence[StoredChange] = (),
) -> Iterator[dict[str, Any]]:
    """The interchange records of one result: one per scorer, and one per feedback name
    with a score (in place of the ``human`` scorer's record of that criterion); the
    result's stored ``changes`` are tagged."""
    model = run.model
    model_block = _drop_none(
        {
            "provider": model.get("provider"),
            "name": model.get("name"),
            "version": _served_build(result) or model.get("version"),
            "temperature": model.get("temperature"),
            "max_tokens": model.get("max_tokens"),
            "system_prompt": model.get("system_prompt"),
        }
    )
    head = {
        "suite_id": run.suite_id,
        "case_id": result.case_id,
        "experiment_id": run.experiment_id,
        "model": model_block,
        "prompt": result.prompt,
        "input": result.input,
        "output": result.output or "",
        "output_structured": result.output_structured,
        "expected": result.expected,
    }
    tail = {
        "metrics": _drop_none(
            {
                "latency_ms": None if result.latency_ms is None else round(result.latency_ms),
                "input_tokens": result.input_tokens,
                "output_tokens": result.output_tokens,
                "cost_usd": result.cost_usd,
            }
        ),
        "tags": [*result.tags, *(STORED_TAG + c.note for c in changes)] if changes else result.tags,
    }
    reviewed = {v.name: v for v in human if v.score is not None}
    for score in result.scores:
        verdict = reviewed.pop(_criterion(score), None) if score.kind.value == "human" else None
        if verdict is not None:
            yield _human_record(result, verdict, score.scorer_id, score.name, head, tail)
            continue
        label = score.label or (
            "error" if result.error_type else "pass" if score.passed else "fail"
        )
        rationale = score.evidence.rationale
        if result.error_message and not rationale:
            rationale = f"{result.error_type}: {result.error_message}"
        yield _drop_none(
            {
                "id": stable_uuid(result.id, score.scorer_id),
                **head,
                "scorer": {"id": score.scorer_id, "name": score.name, "type": score.kind.value},
                "score": score.score if score.score is not None else 0.0,
                "label": label,
                "evidence": _drop_none(
                    {
                        "rationale": rationale,
                        "judge_model": score.evidence.judge_model,
                        "trace_id": score.evidence.trace_id or result.id,
                        "retrieved_context": score.evidence.retrieved_context,
                    }
                ),
                **tail,
                "timestamp": result.created_at.isoformat(),
            }
        )
    for verdict in reviewed.values():  # feedback no human scorer of the run asked for
        yield _human_record(result, verdict, f"feedback:{verdict.name}", verdict.name, head, tail)


def _human_record(
    result: Result,
    verdict: HumanVerdict,
    scorer_id: str,
    name: str,
    head: dict[str, Any],
    tail: dict[str, Any],
) -> dict[str, Any]:
    return _drop_none(
        {
            "id": stable_uuid(result.id, scorer_id),
            **head,
            "scorer": {"id": scorer_id, "name": name, "type": "human"},
            "score": verdict.score,
            "label": verdict.label or "reviewed",
            "evidence": _drop_none(
                {"rationale": "\n".join(verdict.comments) or None, "trace_id": result.id}
            ),
            **tail,
            "timestamp": verdict.updated_at.isoformat(),
        }
    )


def records(
    run: RunRecord,
    results: Iterable[Result],
    human: HumanFeedback | None = None,
    stored: Store | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of ``results``; with ``stored``, the store they were read from, each
    says what was changed to store it."""
    pairs = with_stored_changes(stored, results) if stored else ((r, []) for r in results)
    for result, changes in pairs:
        yield from result_records(run, result, (human or {}).get(result.id, ()), changes)


CSV_COLUMNS = [
    "id",
    "suite_id",
    "case_id",
    "experiment_id",
    "model.provider",
    "model.name",
    "model.version",
    "model.temperature",
    "model.max_tokens",
    "prompt",
    "input",
    "output",
    "expected",
    "scorer.id",
    "scorer.name",
    "scorer.type",
    "score",
    "label",
    "evidence.rationale",
    "metrics.latency_ms",
    "metrics.input_tokens",
    "metrics.output_tokens",
    "metrics.cost_usd",
    "tags",
    "timestamp",
    "stored_changes",
]


def _flatten(record: dict[str, Any]) -> dict[str, Any]:
    tags: list[str] = record.get("tags") or []
    notes = [t[len(STORED_TAG) :] for t in tags if t.startswith(STORED_TAG)]
    if notes:  # a column of its own, out of the tags
        record = {**record, "tags": [t for t in tags if not t.startswith(STORED_TAG)]}
    flat: dict[str, Any] = {}
    for column in CSV_COLUMNS:
        value: Any = record
        for part in column.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, dict | list):
            value = json.dumps(value, ensure_ascii=False)
        flat[column] = "" if value is None else value
    flat["stored_changes"] = "; ".join(notes)
    return flat


def write(
    run: RunRecord,
    results: Iterable[Result],
    fmt: str,
    out: TextIO,
    human: HumanFeedback | None = None,
    stored: Store | None = None,
) -> int:
    """Write every record of ``results`` (with ``human`` feedback, by result id, and the
    changes made to store them when ``stored`` is their store) to ``out``; returns the
    number of records."""
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    n = 0
    if fmt == "jsonl":
        for rec in records(run, results, human, stored):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "json":
        out.write("[")
        for rec in records(run, results, human, stored):
            out.write(("," if n else "") + "\n  " + json.dumps(rec, ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
    else:
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for rec in records(run, results, human, stored):
            writer.writerow(_flatten(rec))
            n += 1
    return n


def to_string(
    run: RunRecord,
    results: Iterable[Result],
    fmt: str,
    human: HumanFeedback | None = None,
    stored: Store | None = None,
) -> str:
    buf = io.StringIO()
    write(run, results, fmt, buf, human, stored)
    return buf.getvalue()
