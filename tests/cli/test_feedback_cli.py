"""``evalbook feedback``, run in-process against both databases."""

from __future__ import annotations

import json

import pytest

from evalbook.cli.app import main
from evalbook.core.run import RunRecord
from evalbook.storage.feedback import list_feedback
from evalbook.storage.store import Store

from ..storage.feedback_runs import reviewed_run


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
async def run(store: Store, monkeypatch: pytest.MonkeyPatch) -> RunRecord:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("USER", "ann")
    monkeypatch.setenv("LOGNAME", "ann")
    return await reviewed_run(store)


def test_record_then_list(capsys: pytest.CaptureFixture[str], run: RunRecord, store: Store) -> None:
    code, out, err = cli(
        capsys, "feedback", run.id[:8], "c0", "--score", "4", "--comment", "clear, a bit long"
    )
    assert code == 0, err
    assert "recorded 'helpfulness' feedback on case c0 (epoch 0)" in out
    assert "score 4, a comment, by ann" in out
    assert (
        "helpfulness: mean 4.000 over 1 scores (too few ratings for an interval (n < 5))"
        " (scale 1–5) · ann 1" in out
    )
    assert "1 reviewed, 3 awaiting review" in out

    code, out, _ = cli(capsys, "feedback", run.id, "c0", "--score", "5", "--author", "bob")
    assert code == 0 and "by bob" in out and "mean 4.500" in out
    code, out, _ = cli(capsys, "feedback", run.id, "c1", "--label", "wrong", "--json")
    payload = json.loads(out)
    assert payload["feedback"]["label"] == "wrong" and payload["feedback"]["author"] == "ann"
    assert payload["summary"]["helpfulness"]["awaiting"] == 2
    assert json.loads(payload["feedback_scores"])["helpfulness"]["n"] == 2
    assert len(list_feedback(store, run.id)) == 3

    code, out, _ = cli(capsys, "feedback", run.id)
    assert code == 0
    for text in ("feedback", "clear, a bit long", "bob", "wrong", "2 reviewed, 2 awaiting"):
        assert text in out
    assert "judge vs human on helpfulness (fake-judge): 1 result(s) scored by both" in out

    cli(capsys, "feedback", run.id, "c2", "--score", "2")
    cli(capsys, "feedback", run.id, "c3", "--score", "1")
    code, out, _ = cli(capsys, "feedback", run.id, "--json")
    payload = json.loads(out)
    assert [r["case_id"] for r in payload["feedback"]] == ["c0", "c0", "c1", "c2", "c3"]
    agreement = payload["agreement"]["helpfulness"]
    assert agreement["n"] == 3 and agreement["alpha"]["metric"] == "krippendorff_alpha_interval"
    code, out, _ = cli(capsys, "feedback", run.id)
    assert "alpha " in out and "pass kappa" in out and "over 3 results" in out


def test_errors_name_the_run_and_case(capsys: pytest.CaptureFixture[str], run: RunRecord) -> None:
    code, _, err = cli(capsys, "feedback", "ffffffff-nope", "c0", "--score", "1")
    assert code == 1 and "no run 'ffffffff-nope'" in err
    code, _, err = cli(capsys, "feedback", run.id, "c9", "--score", "1")
    assert code == 1 and f"run {run.id} has no case 'c9'" in err
    code, _, err = cli(capsys, "feedback", run.id, "c0")
    assert code == 1 and "--score, --label or --comment" in err
    code, _, err = cli(capsys, "feedback", run.id, "c0", "--score", "9")
    assert code == 1 and "outside its scale 1–5" in err
    code, _, err = cli(capsys, "feedback", run.id, "c0", "--score", "nan")
    assert code == 1 and "finite" in err
    code, _, err = cli(capsys, "feedback", run.id, "--score", "3")
    assert code == 1 and "say which case" in err
    code, out, _ = cli(capsys, "feedback", run.id)
    assert code == 0 and f"no feedback on run {run.id}" in out and "4 awaiting review" in out


def test_export_includes_feedback(capsys: pytest.CaptureFixture[str], run: RunRecord) -> None:
    cli(capsys, "feedback", run.id, "c3", "--score", "5", "--comment", "spot on")
    code, out, _ = cli(capsys, "export", run.id)
    records = [json.loads(line) for line in out.splitlines()]
    [c3] = [r for r in records if r["case_id"] == "c3" and r["scorer"]["type"] == "human"]
    assert code == 0 and c3["score"] == 1.0 and c3["evidence"]["rationale"] == "ann: spot on"
