"""The rows a result is stored as: what the writer's shortcuts leave out is still there."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from evalbook.core.result import Evidence, Result, ResultStatus, ScoreRecord
from evalbook.storage.bulk import sqlite_datetime
from evalbook.storage.rows import result_to_rows


def _result(scores: list[ScoreRecord]) -> Result:
    return Result(
        id="r1",
        run_id="run1",
        case_id="c1",
        status=ResultStatus.failed,
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        scores=scores,
    )


def _score(name: str, rationale: str, error: str | None) -> ScoreRecord:
    return ScoreRecord(
        scorer_id=f"s-{name}",
        name=name,
        type="equals",
        kind="reference_based",
        score=0.0,
        passed=False,
        evidence=Evidence(rationale=rationale),
        error=error,
    )


def test_a_nul_in_a_scores_evidence_or_error_is_replaced_and_listed_by_field() -> None:
    result = _result([_score("a", "got \x00", "boom \x00"), _score("b", "plain", None)])
    row, scores, _ = result_to_rows(result, 7, 10_000)
    assert row["status"] == "failed" and row["seq"] == 7
    a, b = sorted(scores, key=lambda s: s["name"])
    assert "\\u0000" not in a["evidence"] and "\\ufffd" in a["evidence"]
    assert a["error"] == "boom \ufffd" and a["kind"] == "reference_based"
    assert b["evidence"] == '{"rationale":"plain"}' and b["error"] is None
    fields = [c["field"] for c in json.loads(row["body"])["stored_changes"]]
    assert fields == ["scores.a.evidence", "scores.a.error"]


def test_a_long_score_error_is_cut_naming_its_field() -> None:
    row, scores, _ = result_to_rows(_result([_score("long", "r", "x" * 5000)]), 0, 1000)
    assert scores[0]["error"].endswith("(EVALBOOK_MAX_STORED_BYTES)]")
    assert "scores.long.error" in row["body"]


def test_sqlite_times_keep_the_text_format_sqlalchemy_writes() -> None:
    for value in (
        datetime(2026, 12, 5, 11, 37, 0, 929951),
        datetime(2026, 12, 5, 11, 37, 0),  # no microseconds: still written, as .000000
        datetime(2026, 12, 5, 12, 0, tzinfo=timezone(timedelta(hours=2))),
    ):
        utc = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        assert sqlite_datetime(value) == utc.strftime("%Y-%m-%d %H:%M:%S.%f")


@given(
    rationale=st.none()
    | st.text(max_size=40)
    | st.text(st.sampled_from(' "\\/az~\x7f\x00\n\u2028é'), max_size=8),
    extra=st.sampled_from(
        [{}, {"details": {"k": [1, None]}}, {"judge_model": "m"}, {"retrieved_context": []}]
    ),
)
def test_a_scores_evidence_is_stored_as_its_dump(
    rationale: str | None, extra: dict[str, Any]
) -> None:
    """Evidence of a rationale alone is written without pydantic: the text is the dump's,
    byte for byte, whatever the rationale holds (quotes, backslashes, control and
    non-ASCII characters) and whichever other field is set."""
    if rationale is not None and any(0xD800 <= ord(c) <= 0xDFFF for c in rationale):
        return  # not text that can be stored (no UTF-8 for a lone surrogate)
    evidence = Evidence(rationale=rationale, **extra)
    score = _score("a", "r", None).model_copy(update={"evidence": evidence})
    _, (row,), _ = result_to_rows(_result([score]), 0, 10_000)
    if rationale is None or "\x00" not in rationale:  # (a NUL is replaced: see above)
        assert row["evidence"] == evidence.model_dump_json(exclude_none=True)
