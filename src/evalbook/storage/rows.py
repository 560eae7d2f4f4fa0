"""Domain models ↔ table rows. Kept apart from the queries so each stays readable."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, overload

from evalbook.config import stored_bytes_limit
from evalbook.core.identity import encode_str
from evalbook.core.messages import ImagePart, Message
from evalbook.core.result import Evidence, Result
from evalbook.core.run import RunCounts, RunOptions, RunRecord, RunStatus
from evalbook.core.suite import DerivedMetric
from evalbook.core.trusted import built
from evalbook.storage.stored_values import (
    JsonText,
    fit_evidence,
    fit_json_body,
    fit_text,
    json_text,
    report,
)

_RUN_SCALARS = [
    "id", "type", "title", "description", "status", "tags", "run_date", "score", "passed",
    "duration_ms", "token_count", "input_token_count", "output_token_count", "cost",
    "error_rate", "feedback_scores", "alias", "label", "experiment_id", "suite_id", "suite_name",
    "suite_version", "suite_hash", "prompt_name", "prompt_version", "prompt_hash", "model",
    "model_hash", "tier", "threshold", "metrics", "stop_reason", "resumed_from", "rescored_from",
    "judge_cost", "judge_token_count", "workspace_id", "archived_at", "evalbook_version",
    "created_at", "started_at", "finished_at",
]  # fmt: skip


def run_to_row(run: RunRecord) -> dict[str, Any]:
    row = {name: getattr(run, name) for name in _RUN_SCALARS}
    row["status"] = run.status.value
    row["total_count"] = run.counts.total
    row["passed_count"] = run.counts.passed
    row["failed_count"] = run.counts.failed
    row["errored_count"] = run.counts.errored
    row["cached_count"] = run.counts.cached
    row["options"] = run.options.model_dump(mode="json")
    return row


#: Every option's default, in the declared order (a dump's; it leaves out those the record
#: omits when empty, ``RunOptions.LEFT_OUT_WHEN_EMPTY``).
_OPTION_DEFAULTS = {
    name: field.get_default(call_default_factory=True)
    for name, field in RunOptions.model_fields.items()
}
_RUN_FIELDS = set(RunRecord.model_fields)
assert {*_RUN_SCALARS, "counts", "options"} == _RUN_FIELDS, "a run field has no column"


def row_to_run(row: Any) -> RunRecord:
    """The run of a row we wrote ourselves: built without validating it again (a list
    page of 50 runs spent more time re-validating them than reading them). Keys an older
    or newer schema lacks or adds in ``options`` fall back to their defaults / are left."""
    m = row._mapping
    fields = {name: m[name] for name in _RUN_SCALARS}
    fields["status"] = RunStatus(fields["status"])
    fields["counts"] = built(
        RunCounts,
        {
            "total": m["total_count"],
            "passed": m["passed_count"],
            "failed": m["failed_count"],
            "errored": m["errored_count"],
            "cached": m["cached_count"],
        },
    )
    stored = m["options"] or {}
    options = {k: stored.get(k, v) for k, v in _OPTION_DEFAULTS.items()}
    options["derived_metrics"] = [
        built(DerivedMetric, dict(m)) for m in stored.get("derived_metrics") or ()
    ]
    fields["options"] = built(RunOptions, options)
    for ts in ("created_at", "started_at", "finished_at", "archived_at"):
        fields[ts] = as_utc(fields[ts])
    return built(RunRecord, fields)


_COUNT_COLUMNS = ("total_count", "passed_count", "failed_count", "errored_count", "cached_count")
_COUNT_KEYS = ("total", "passed", "failed", "errored", "cached")
_RUN_COLUMNS = (*_RUN_SCALARS, *_COUNT_COLUMNS, "options")
_TIMESTAMPS = ("created_at", "started_at", "finished_at", "archived_at")


def run_fields_reader(keys: Sequence[str]) -> Callable[[Any], dict[str, Any] | None]:
    """Reads the fields of the run in a row with these column ``keys`` as its record
    serialises them, in the same order (``RunRecord.model_dump``, without building the
    record: a list page spent a third of its time there), or ``None`` when only the record
    can say it (the run carries derived metrics). The columns are picked by position,
    looked up once for all the rows of a result (by name, each row cost a list page of 50
    runs 0.5 ms)."""
    pick = operator.itemgetter(*(list(keys).index(name) for name in _RUN_COLUMNS))
    scalars = len(_RUN_SCALARS)

    def read(row: Any) -> dict[str, Any] | None:
        values = pick(row)
        stored = values[-1] or {}
        if stored.get("derived_metrics"):
            return None
        fields = dict(zip(_RUN_SCALARS, values, strict=False))
        for ts in _TIMESTAMPS:
            fields[ts] = as_utc(fields[ts])
        fields["counts"] = dict(zip(_COUNT_KEYS, values[scalars : scalars + 5], strict=True))
        options = {}
        for name, default in _OPTION_DEFAULTS.items():
            value = stored.get(name, default)
            if value or name not in RunOptions.LEFT_OUT_WHEN_EMPTY:
                options[name] = value
        fields["options"] = options
        return fields

    return read


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A timestamp in UTC, a naive one taken as UTC: SQLite hands stored times back naive
    (we store UTC), PostgreSQL answers in the session's zone, and SQLite compares the
    stored text, so query bounds must be UTC too."""
    if value is None or value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def split_images(messages: list[Message]) -> tuple[list[dict[str, Any]], list[ImagePart]]:
    """Messages as JSON with image bytes taken out (stored once in ``blobs``)."""
    images: list[ImagePart] = []
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
            continue
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, ImagePart):
                images.append(p)
                parts.append(
                    {"type": "image", "media_type": p.media_type, "data": "", "sha256": p.sha256}
                )
            else:
                parts.append({"type": "text", "text": p.text})
        out.append({"role": m.role, "content": parts})
    return out, images


#: A scorer's spec as JSON, by the spec's identity: every record a scorer makes shares
#: its one spec dict (``scorer_set``), which is serialised once instead of per record.
#: The dict is held with its text, so its ``id`` cannot be reused while it is cached.
_SPEC_JSON: dict[int, tuple[dict[str, Any], JsonText]] = {}


def _spec_json(spec: dict[str, Any]) -> JsonText:
    hit = _SPEC_JSON.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_SPEC_JSON) >= 256:
        _SPEC_JSON.clear()
    text = json_text(spec)
    _SPEC_JSON[id(spec)] = (spec, text)
    return text


def _evidence_json(evidence: Evidence) -> JsonText:
    """``evidence.model_dump_json(exclude_none=True)``; a rationale alone (what a built-in
    scorer gives) in printable ASCII is written directly, escaped alike (two per cached
    result, their dumps were a fifth of making its rows)."""
    fields = evidence.__dict__
    rationale = fields.get("rationale")
    if (
        len(fields) == 5  # these five fields and no other (one added later: dumped)
        and type(rationale) is str
        and rationale.isascii()
        and rationale.isprintable()
        and fields["details"] is None
        and fields["judge_model"] is None
        and fields["trace_id"] is None
        and fields["retrieved_context"] is None
    ):
        return JsonText(f'{{"rationale":{encode_str(rationale)}}}')
    return JsonText(evidence.model_dump_json(exclude_none=True))


def result_to_rows(
    result: Result, seq: int, limit: int | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]], list[ImagePart]]:
    """A result's row, its score rows and its images, each value fit to store
    (``stored_values``: no NUL, nothing over ``limit`` bytes, by default
    :func:`~evalbook.config.stored_bytes_limit`)."""
    if limit is None:
        limit = stored_bytes_limit()
    changes: list[dict[str, Any]] = []
    messages, images = split_images(result.messages)
    body: dict[str, Any] = {
        "input": result.input,
        "messages": messages,
        "output_structured": result.output_structured,
        "choices": result.choices,
        "tags": result.tags,
        "attempts": result.attempts,
    }
    if result.provider_evidence is not None:
        body["provider_evidence"] = result.provider_evidence.model_dump(
            mode="json", exclude_none=True
        )
    row = {
        "id": result.id,
        "run_id": result.run_id,
        "case_id": result.case_id,
        "epoch": result.epoch,
        "seq": seq,
        "status": result.status._value_,  # (``_value_``: ``value`` is a slow property)
        "failure_reason": result.failure_reason._value_ if result.failure_reason else None,
        "score": result.score,
        "section": result.section,
        "prompt": fit_text(result.prompt, "prompt", limit, changes),
        "output": fit_text(result.output, "output", limit, changes),
        "expected": fit_text(result.expected, "expected", limit, changes),
        "latency_ms": result.latency_ms,
        "input_tokens": result.input_tokens,
        "output_tokens": result.output_tokens,
        "cost_usd": result.cost_usd,
        "cached": result.cached,
        "served_model": result.served_model,
        "system_fingerprint": result.system_fingerprint,
        "cache_key": result.cache_key,
        "error_type": result.error_type,
        "error_message": fit_text(result.error_message, "error_message", limit, changes),
        "body": None,
        "created_at": result.created_at,
    }
    score_rows = []
    for s in result.scores:
        # The field names of a change are made only when there is one (rarely).
        evidence = _evidence_json(s.evidence)
        if 4 * len(evidence) > limit or "\\u0000" in evidence:
            evidence = fit_evidence(evidence, f"scores.{s.name}.evidence", limit, changes)
        error = s.error
        if error is not None:
            error = fit_text(error, f"scores.{s.name}.error", limit, changes)
        score_rows.append(
            {
                "result_id": result.id,
                "run_id": result.run_id,
                "scorer_id": s.scorer_id,
                "name": s.name,
                "type": s.type,
                "kind": s.kind._value_,
                "score": s.score,
                "passed": s.passed,
                "label": s.label,
                "weight": s.weight,
                "threshold": s.threshold,
                "higher_is_better": s.higher_is_better,
                "evidence": evidence,
                "error": error,
                "spec": _spec_json(s.spec),
                "input_tokens": s.input_tokens,
                "output_tokens": s.output_tokens,
                "cost_usd": s.cost_usd,
            }
        )
    row["body"] = fit_json_body(body, limit, changes)  # last: it lists every change
    report(result.run_id, result.case_id, changes)
    return row, score_rows, images


def _score_fields(row: Any) -> dict[str, Any]:
    """A score row's columns as a :class:`ScoreRecord`'s fields: every column but the
    result's and the run's ids, which the record does not repeat."""
    fields = dict(row._mapping)
    del fields["result_id"], fields["run_id"]
    fields["evidence"] = fields["evidence"] or {}
    fields["spec"] = fields["spec"] or {}
    return fields


def rows_to_result(row: Any, score_rows: list[Any], blobs: dict[str, str]) -> Result:
    """The result of a stored row and its score rows (``blobs``: image data by hash).

    Validated in one call, nested values as dicts: validating the messages, scores,
    evidence and attempts one model at a time cost a Python call each, and was half of
    reading a run's results (an export of 20,000 results with two scores each)."""
    m = row._mapping
    body = m["body"]
    messages = []
    for msg in body.get("messages", []):
        content = msg["content"]
        if isinstance(content, list):
            content = [
                {**p, "data": blobs.get(p["sha256"], "")} if p.get("type") == "image" else p
                for p in content
            ]
        messages.append({"role": msg["role"], "content": content})
    return Result.model_validate(
        {
            "id": m["id"],
            "run_id": m["run_id"],
            "case_id": m["case_id"],
            "epoch": m["epoch"],
            "status": m["status"],
            "failure_reason": m["failure_reason"],
            "input": body.get("input") or {},
            "messages": messages,
            "prompt": m["prompt"],
            "output": m["output"],
            "output_structured": body.get("output_structured"),
            "expected": m["expected"],
            "choices": body.get("choices"),
            "section": m["section"],
            "tags": body.get("tags") or [],
            "scores": [_score_fields(s) for s in score_rows],
            "score": m["score"],
            "latency_ms": m["latency_ms"],
            "input_tokens": m["input_tokens"],
            "output_tokens": m["output_tokens"],
            "cost_usd": m["cost_usd"],
            "cached": m["cached"],
            "served_model": m["served_model"],
            "system_fingerprint": m["system_fingerprint"],
            "cache_key": m["cache_key"],
            "error_type": m["error_type"],
            "error_message": m["error_message"],
            "attempts": body.get("attempts", []),
            "provider_evidence": body.get("provider_evidence") or None,
            "created_at": as_utc(m["created_at"]),
        }
    )
