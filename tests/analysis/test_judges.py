"""The judge report of a run: parse errors, member means, panel agreement, cost."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import evalbook
from evalbook.analysis.judges.report import judge_report
from evalbook.cli.app import app
from evalbook.stats.agreement import krippendorff_alpha
from evalbook.storage.store import Store

from ..scorers.test_llm_judge import FIX, _suite


def _panel_run(store: Store) -> str:
    spec = {
        "llm-judge": "Is it polite?",
        "name": "polite",
        "panel": [f"{FIX}:rubric_judge", f"{FIX}:harsh_judge", f"{FIX}:mute_judge"],
    }
    other = {"llm-judge": "Is it polite?", "name": "mute", "judge": f"{FIX}:mute_judge"}
    replies = ["Paris, please.", "Paris.", "please, Lyon", "no"]
    run = evalbook.run(_suite([spec, other, "non-empty"], replies), store=store)
    return run.id


def test_report_counts_errors_member_means_and_panel_agreement(store: Store) -> None:
    run_id = _panel_run(store)
    mute, polite = judge_report(store, run_id)  # sorted by name

    assert (mute.name, mute.scored, mute.errors, mute.error_rate) == ("mute", 0, 4, 1.0)
    assert mute.mean is None and mute.agreement is None

    assert polite.name == "polite" and (polite.scored, polite.errors) == (4, 0)
    assert polite.template == "rubric@1"
    rubric, harsh, silent = (f"{FIX}:{j}" for j in ("rubric_judge", "harsh_judge", "mute_judge"))
    assert polite.judges == [rubric, harsh, silent]
    # rubric_judge: 8 for "please" (cases 0 and 2), else 3; harsh_judge: always 2.
    assert polite.member_means[rubric] == pytest.approx(((8 + 3 + 8 + 3) / 4 - 1) / 9)
    assert polite.member_means[harsh] == pytest.approx((2 - 1) / 9)
    assert silent not in polite.member_means and polite.member_errors == {silent: 4}
    expected_alpha = krippendorff_alpha(
        [[8, 2, None], [3, 2, None], [8, 2, None], [3, 2, None]], level="interval"
    )
    assert polite.agreement is not None
    assert polite.agreement.value == pytest.approx(expected_alpha)
    assert polite.agreement.n_items == 4
    assert polite.cost_usd == 0.0 and polite.tokens == 0  # python judges report no tokens


def test_judges_command_prints_the_report(store: Store) -> None:
    run_id = _panel_run(store)
    out = CliRunner().invoke(app, ["judges", run_id[:8], "--json"])
    assert out.exit_code == 0, out.output
    reports = json.loads(out.output)
    assert [r["name"] for r in reports] == ["mute", "polite"]
    assert reports[0]["error_rate"] == 1.0
    table = CliRunner().invoke(app, ["judges", run_id], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "rubric@1" in table.output and "4 (100%)" in table.output
    assert "gave no usable verdict 4 time(s)" in table.output


def test_judges_json_carries_judge_vs_human_agreement(store: Store) -> None:
    from evalbook.analysis.feedback import record_feedback

    run_id = _panel_run(store)
    # Judge means per case (normalised): ((8+2)/2-1)/9, ((3+2)/2-1)/9, … ; humans agree in order.
    for case, score in (("c0", 0.9), ("c1", 0.1), ("c2", 0.8), ("c3", 0.2)):
        record_feedback(store, run_id, case, name="polite", score=score, author="ann")
    out = CliRunner().invoke(app, ["judges", run_id, "--json"])
    assert out.exit_code == 0, out.output
    polite = next(r for r in json.loads(out.output) if r["name"] == "polite")
    assert polite["human"]["n"] == 4
    assert polite["human"]["alpha"] is not None and polite["human"]["human_mean"] == 0.5
    mute = next(r for r in json.loads(out.output) if r["name"] == "mute")
    assert mute["human"] is None


def test_judges_command_prints_hostile_names_as_text(store: Store) -> None:
    """A criterion's name is the suite author's text: never read as markup (``[/]``
    stopped the command), its control characters written as escapes."""
    name = "pol[/]ite\x1b[2J"
    spec = {"llm-judge": "Is it polite?", "name": name, "judge": f"{FIX}:mute_judge"}
    run = evalbook.run(_suite([spec], ["Paris."]), store=store, title="t[/]\x1b]0;x\x07")
    table = CliRunner().invoke(app, ["judges", run.id], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "pol[/]ite\\x1b[2J" in table.output and "t[/]\\x1b]0;x\\x07" in table.output
    assert "\x1b" not in table.output and "\x07" not in table.output
