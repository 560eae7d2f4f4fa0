"""``evalbook pairwise``, run in-process on SQLite (both databases are covered by
tests/executor/test_pairwise.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import evalbook
from evalbook.cli.app import main
from evalbook.storage.pairwise import iter_judgments, list_comparisons
from evalbook.storage.store import Store

from ..executor.pairwise_runs import FIX, make_run


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


@pytest.fixture
async def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("EVALBOOK_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    store = Store.open(url)
    try:
        base = await make_run(store, {"a": "Lyon", "b": "Paris", "c": "Paris, yes", "d": "Nice"})
        cand = await make_run(store, {"a": "Paris", "b": "Lyon", "c": "Paris", "d": "Paris!"})
        return base.id, cand.id
    finally:
        store.close()


def test_a_first_slot_judge_is_reported_as_pure_position_bias(
    capsys: pytest.CaptureFixture[str], runs: tuple[str, str]
) -> None:
    base, cand = runs
    code, out, _ = cli(capsys, "pairwise", base[:8], cand[:8], "--judge", f"{FIX}:first_judge")
    assert code == 0
    for text in ("position bias", "100%", "A/A 4", "4 ties", "verbosity", "judge cost"):
        assert text in out, text
    assert "the judge favours the first slot; its verdicts are unreliable" in out

    code, out, _ = cli(
        capsys, "pairwise", base, cand, "--judge", f"{FIX}:first_judge", "--json", "--no-cache"
    )
    payload = json.loads(out)
    assert code == 0 and payload["status"] == "completed"
    assert payload["summary"]["position_bias_rate"] == 1.0
    assert payload["summary"]["ties"] == 4 and payload["judge_calls"] == 8


def test_a_fair_judge_reports_wins_and_no_warning(
    capsys: pytest.CaptureFixture[str], runs: tuple[str, str]
) -> None:
    base, cand = runs
    code, out, _ = cli(
        capsys, "pairwise", base, cand, "--judge", f"{FIX}:fair_pair_judge", "--concurrency", "2"
    )
    assert code == 0
    assert "2 wins" in out and "1 losses" in out and "1 ties" in out
    assert "win rate" in out and "0.667" in out
    assert "unreliable" not in out

    code, out, _ = cli(
        capsys, "pairwise", base, cand, "--judge", f"{FIX}:fair_pair_judge", "--json"
    )
    summary = json.loads(out)["summary"]
    assert summary["position_bias_rate"] == 0.0 and summary["wins"] == 2


def test_a_custom_criterion_and_wrong_inputs(
    capsys: pytest.CaptureFixture[str], runs: tuple[str, str]
) -> None:
    base, cand = runs
    args = ("pairwise", base, cand, "--judge", f"{FIX}:fair_pair_judge")
    code, out, _ = cli(
        capsys, *args, "--criterion", "tone", "--criterion-description", "More polite?", "--json"
    )
    payload = json.loads(out)
    assert code == 0 and payload["criterion"] == "tone"
    assert payload["criterion_description"] == "More polite?"
    store = Store.open()
    try:
        [record] = list_comparisons(store)
        assert record.criterion == "tone" and len(list(iter_judgments(store, record.id))) == 4
    finally:
        store.close()

    code, _, err = cli(capsys, *args, "--criterion", "wit")
    assert code == 1 and "unknown criterion 'wit'" in err
    code, _, err = cli(capsys, "pairwise", base, base, "--judge", f"{FIX}:first_judge")
    assert code == 1 and "compared with itself" in err
    code, _, err = cli(capsys, "pairwise", base, "nope-nope", "--judge", f"{FIX}:first_judge")
    assert code == 1 and "no run 'nope-nope'" in err


def test_the_python_api_names_runs_as_the_cli_does(runs: tuple[str, str]) -> None:
    base, cand = runs
    result = evalbook.pairwise(base[:8], cand[:8], judge=f"{FIX}:fair_pair_judge")
    assert result.summary is not None and result.summary.wins == 2
    assert (result.baseline_run_id, result.candidate_run_id) == (base, cand)


def test_a_refused_judge_key_stops_the_comparison(
    capsys: pytest.CaptureFixture[str], runs: tuple[str, str]
) -> None:
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    base, cand = runs
    with run_test_server_in_thread(TestServerConfig(required_api_key="the-right-key")) as srv:
        code, _, err = cli(
            capsys,
            "pairwise",
            base,
            cand,
            "--judge",
            f"openai-compatible:judge@{srv.base_url}",
            "--concurrency",
            "1",
            "--no-cache",
        )
        asked, answered = srv.requests, srv.by_status
    assert code == 1, err
    assert "401" in err or "authentication" in err.lower() or "key" in err.lower(), err
    # Both orders of the first pair may be in flight when the first refusal comes back.
    assert asked <= 2, f"{asked} judge calls ({answered}) after the key was refused; 8 planned"
    store = Store.open(os.environ["EVALBOOK_DATABASE_URL"])
    try:
        [comparison] = list_comparisons(store)
    finally:
        store.close()
    assert comparison.summary["status"] == "failed"


def test_list_and_show_read_what_was_recorded(
    capsys: pytest.CaptureFixture[str], runs: tuple[str, str]
) -> None:
    base, cand = runs
    code, out, _ = cli(capsys, "pairwise", "list")
    assert code == 0 and "no pairwise comparisons recorded" in out
    code, out, _ = cli(
        capsys, "pairwise", base, cand, "--judge", f"{FIX}:fair_pair_judge", "--json"
    )
    recorded = json.loads(out)
    code, out, _ = cli(capsys, "pairwise", "list", "--json")
    [listed] = json.loads(out)
    assert code == 0 and listed["id"] == recorded["id"] and listed["status"] == "completed"
    assert listed["summary"]["wins"] == recorded["summary"]["wins"] == 2
    code, out, _ = cli(capsys, "pairwise", "list")
    assert code == 0 and recorded["id"][:8] in out and "0.667" in out
    code, out, _ = cli(capsys, "pairwise", "show", recorded["id"][:8])
    assert code == 0 and "2 wins" in out and "1 losses" in out and "completed" in out
    code, _, err = cli(capsys, "pairwise", "show")
    assert code == 1 and "comparison id is missing" in err
    code, _, err = cli(capsys, "pairwise", base, cand)
    assert code == 1 and "--judge is missing" in err
