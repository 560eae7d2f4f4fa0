"""``assert-set``: inner scorers judged as one by the weighted mean of their scores."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.result import Result, ResultStatus
from evalbook.core.suite import Case
from evalbook.executor.derived import named_sums
from evalbook.scorers import ScoreContext, parse_scorer_spec
from evalbook.scorers.case_verdict import case_verdict
from evalbook.scorers.registry import spec_to_dict
from evalbook.scorers.scorer_set import ScorerSet

SPEC: dict[str, Any] = {
    "type": "assert-set",
    "threshold": 0.5,
    "value": [
        {"contains": "Paris", "name": "capital"},
        {"type": "icontains", "value": "{{ city }}", "weight": 2},
        "is-json",
    ],
}
CASE = Case(id="c", vars={"city": "lyon"})


async def _score(spec: dict[str, Any], output: str, case: Case = CASE) -> Any:
    scorers = ScorerSet.build([parse_scorer_spec(spec)])
    records, score, _ = await scorers.score(ScoreContext(output=output, case=case), case.vars)
    return records, score


@pytest.mark.parametrize(
    ("output", "score", "status"),
    [
        ("Paris", 0.25, ResultStatus.failed),  # 1 of weight 4
        ("Lyon", 0.5, ResultStatus.passed),  # the rendered {{ city }}, weight 2: the threshold
        ("Paris, LYON", 0.75, ResultStatus.passed),  # is-json still fails: the share passes
        ("nothing", 0.0, ResultStatus.failed),
    ],
)
async def test_passes_on_the_weighted_share(
    output: str, score: float, status: ResultStatus
) -> None:
    records, _ = await _score(SPEC, output)
    (record,) = records
    assert record.score == pytest.approx(score)
    assert case_verdict(records).status is status
    inner = record.evidence.details["scores"]
    assert [(s["name"], s["weight"]) for s in inner] == [
        ("capital", 1.0), ("icontains", 2.0), ("is-json", 1.0)
    ]  # fmt: skip
    assert "threshold 0.5" in record.evidence.rationale


async def test_without_a_threshold_every_inner_scorer_must_pass() -> None:
    spec = {k: v for k, v in SPEC.items() if k != "threshold"}
    records, _ = await _score(spec, "Paris, LYON")
    assert records[0].score == pytest.approx(0.75)
    assert case_verdict(records).status is ResultStatus.failed
    assert records[0].evidence.rationale == "failed: is-json"
    spec["value"] = spec["value"][:2]
    records, _ = await _score(spec, "Paris, LYON")
    assert case_verdict(records).status is ResultStatus.passed


async def test_an_inner_error_errors_the_set_never_a_share() -> None:
    unsupported = {
        "type": "unsupported",
        "tool": "promptfoo",
        "feature": "javascript",
        "reason": "code",
    }
    spec = {**SPEC, "threshold": 0.1, "value": [*SPEC["value"], unsupported]}
    records, _ = await _score(spec, "Paris, LYON")
    verdict = case_verdict(records)
    assert verdict.status is ResultStatus.error
    assert "inner scorer 'unsupported'" in (verdict.error_message or "")


async def test_a_nested_set_counts_once_and_negation_inverts() -> None:
    spec = {
        "type": "assert-set",
        "threshold": 0.75,
        "value": [
            {"type": "assert-set", "threshold": 0.3, "value": ["is-json", {"contains": "O"}]},
            {"not-contains": "Bergen"},
            {"contains": "Norway"},
        ],
    }
    records, _ = await _score(spec, "Oslo, Norway")
    # (0.5 + 1 + 1) / 3 = 0.83; one by one it would be (0 + 1 + 1 + 1) / 4 = 0.75
    assert records[0].score == pytest.approx(2.5 / 3)
    assert case_verdict(records).status is ResultStatus.passed


def test_the_spec_round_trips_and_needs_a_list() -> None:
    spec = parse_scorer_spec(SPEC)
    assert parse_scorer_spec(spec_to_dict(spec)) == spec
    with pytest.raises(ValueError, match="list of scorer specs"):
        ScorerSet.build([parse_scorer_spec({"type": "assert-set", "value": "contains"})])
    with pytest.raises(ValueError, match="needs a value"):
        ScorerSet.build([parse_scorer_spec({"type": "assert-set"})])


async def test_inner_names_count_in_derived_metrics() -> None:
    records, _ = await _score(SPEC, "Lyon")
    result = Result.model_validate(
        {
            "id": "r",
            "run_id": "run",
            "case_id": "c",
            "status": "passed",
            "scores": [r.model_dump() for r in records],
            "created_at": "2026-12-05T00:00:00Z",
        }
    )
    sums = named_sums([result])
    assert sums["capital"] == 0.0 and sums["icontains"] == 1.0 and sums["__count"] == 1.0


def test_the_estimate_sees_the_judge_calls_inside_a_set() -> None:
    judge = {"provider": "openai-compatible", "name": "j", "base_url": "http://127.0.0.1:9/v1"}
    spec = {
        "type": "assert-set",
        "threshold": 0.5,
        "value": [{"llm-judge": "Does it name the city?", "judge": judge}, {"contains": "x"}],
    }
    scorers = ScorerSet.build([parse_scorer_spec(spec)])
    (call,) = scorers.judge_calls(ScoreContext(output="", case=CASE), CASE.vars)
    model, messages = call
    assert model.name == "j"
    assert "Does it name the city?" in " ".join(m.text for m in messages)
    assert [m.name for m in scorers.judge_models()] == ["j"]
