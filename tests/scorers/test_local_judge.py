"""The real embedded SmolLM2 model as a judge: a poor judge, but the plumbing is real.

What is checked is what must hold for any judge: every verdict is either parsed into the
scale or recorded as an error (never a silent 0), rationales are stored, and the judge's
tokens are attributed to the scores and the run's judge usage, not to the run's cost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import evalbook
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..conftest import model_home


@pytest.mark.slow
@pytest.mark.model
def test_smollm2_judges_a_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(model_home()))
    replies = ["Paris.", "The capital of France is Lyon.", "Paris, of course!", "I don't know."]
    suite = load_suite_from_dict(
        {
            "id": "local-judge",
            "model": {"provider": "python", "name": "tests.scorers.judge_fixtures:reply"},
            "prompt": "What is the capital of France?",
            "scorers": [
                {
                    "llm-judge": {
                        "judge": {"provider": "local", "name": "smollm2-135m", "max_tokens": 96},
                        "criteria": [{"name": "correct", "description": "Is it Paris?"}],
                    }
                }
            ],
            "cases": [{"id": f"c{i}", "vars": {"reply": r}} for i, r in enumerate(replies)],
        }
    )
    store = Store.open(f"sqlite:///{tmp_path / 'judge.db'}")
    try:
        run = evalbook.run(suite, store=store, concurrency=2)
        results = list(store.iter_results(run.id))
    finally:
        store.close()

    assert run.status == "completed" and len(results) == 4
    records = [s for r in results for s in r.scores]
    assert len(records) == 4 and {s.name for s in records} == {"correct"}
    for record in records:
        assert record.kind == "llm_judge"
        assert record.input_tokens and record.input_tokens > 50  # the rubric prompt
        assert record.output_tokens and record.output_tokens > 0
        if record.error is None:  # a parsed verdict: on the scale, with its template
            assert record.score is not None and 0.0 <= record.score <= 1.0
            assert record.label is not None and 1 <= float(record.label) <= 10
            details = record.evidence.details or {}
            assert details["template"] == "rubric@1"
            assert details["votes"][0]["model"] == "local:smollm2-135m"
        else:  # an unusable reply: an error on that score, never a 0, quoting the reply
            assert record.score is None and record.passed is False
            assert "no verdict" in record.error or "outside" in record.error
            assert "…" in record.error or "graded" in record.error
    assert run.cost == 0.0  # the system under test is a free function
    assert run.judge_token_count == sum(
        (s.input_tokens or 0) + (s.output_tokens or 0) for s in records
    )
    assert run.judge_cost == 0.0  # the local model's price is zero, and known
