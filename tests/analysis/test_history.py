"""Word diffs, trends and sparklines, alias groups with served-build drift, noise."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

import evalbook
from evalbook.analysis import compare_runs
from evalbook.analysis.compare.diffs import case_diff, word_diff
from evalbook.analysis.history.aliases import alias_groups, latest_by_alias
from evalbook.analysis.history.noise import estimate_noise
from evalbook.analysis.history.trends import sparkline, trend
from evalbook.errors import NotFoundError, UserError
from evalbook.storage.run_refs import resolve_run
from evalbook.storage.store import Store

from .seed import seed_runs, summary_suite


@given(st.text(max_size=60), st.text(max_size=60))
def test_word_diff_rebuilds_both_texts(a: str, b: str) -> None:
    ops = word_diff(a, b)
    assert "".join(o.text for o in ops if o.op != "insert") == a
    assert "".join(o.text for o in ops if o.op != "delete") == b
    assert all(o.text for o in ops)


def test_word_diff_marks_whole_words() -> None:
    ops = word_diff("the cat sat on the mat", "the dog sat on the mat")
    assert [(o.op, o.text) for o in ops] == [
        ("equal", "the "),
        ("delete", "cat"),
        ("insert", "dog"),
        ("equal", " sat on the mat"),
    ]


def test_word_diff_stays_quick_on_long_repetitive_texts() -> None:
    # Quadratic (or worse) in difflib at the token level: over the pair budget the diff
    # compares words, then lines, then shows the middle as one replacement.
    hostile_a, hostile_b = "X" + "A<b>" * 5000, "Y" + "A<b>" * 4990 + "B<i>" * 10
    lines_a, lines_b = "a\n" + "yes\n" * 5000 + "b", "c\n" + "yes\n" * 4999 + "d"
    for a, b in ((hostile_a, hostile_b), (lines_a, lines_b)):
        ops = word_diff(a, b)  # a hang here fails the run's time limit
        assert "".join(o.text for o in ops if o.op != "insert") == a
        assert "".join(o.text for o in ops if o.op != "delete") == b
    # An answer of a few hundred words is still diffed word by word.
    pick = random.Random(1)
    words = [pick.choice(["alpha", "beta", "gamma", "the", "of", "a"]) for _ in range(400)]
    changed = [("omega" if i % 7 == 0 else w) for i, w in enumerate(words)]
    ops = word_diff(" ".join(words), " ".join(changed))
    assert [o.text for o in ops if o.op == "insert"] == ["omega"] * 58


def test_sparkline() -> None:
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    assert sparkline([0.3, None, 0.3]) == "▄ ▄"
    assert sparkline([]) == ""


async def test_trend_diff_and_refs(store: Store) -> None:
    runs = await seed_runs(store, (4, 5, 6), n=12)
    t = trend(store, "summaries")
    assert [p.run_id for p in t.points] == [runs[v].id for v in (4, 5, 6)]
    assert t.values == pytest.approx([0.81, 0.78, 0.84])
    faith = trend(store, "summaries", metric="faithfulness")
    assert faith.values == pytest.approx([0.85, 0.72, 0.85])
    assert faith.points[0].ci_low is not None
    with pytest.raises(UserError, match="known: "):
        trend(store, "summaries", metric="nope")

    assert resolve_run(store, "latest", suite_id="summaries").id == runs[6].id
    assert resolve_run(store, "latest", relative_to=runs[6]).id == runs[5].id
    with pytest.raises(NotFoundError):
        resolve_run(store, "latest", relative_to=runs[4])

    d = case_diff(store, runs[4], runs[5], "doc-001")
    assert d.baseline_status == "passed" and d.candidate_status == "passed"
    assert d.prompt is not None  # prompt versions differ: the rendered prompts are diffed
    assert ("delete", "v4") in [(o.op, o.text) for o in d.output]
    with pytest.raises(NotFoundError):
        case_diff(store, runs[4], runs[5], "no-such-case")


async def test_alias_groups_flag_a_changed_served_build(store: Store) -> None:
    suite = summary_suite(6, versions=(4,))
    first = await evalbook.arun(suite, store=store, prompt_version=4, alias="prod")
    await evalbook.arun(suite, store=store, prompt_version=4, alias="staging")
    # The provider changed the build behind "prod": same name, another fingerprint.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE results SET system_fingerprint = 'fp-old'")
    second = await evalbook.arun(
        suite, store=store, prompt_version=4, alias="prod", use_cache=False
    )
    groups = {g.alias: g for g in alias_groups(store, "summaries")}
    assert set(groups) == {"prod", "staging"}
    assert groups["prod"].drift and not groups["staging"].drift
    assert groups["prod"].served_builds == ["mock-echo+fp-old", "mock-echo+mock"]
    assert [r.run_id for r in groups["prod"].runs] == [second.id, first.id]
    latest = latest_by_alias(store, ["prod", "staging"], "summaries")
    assert latest[0].id == second.id
    warnings = compare_runs(store, first, second).warnings
    assert any("alias 'prod' resolved to a different served model build" in w for w in warnings)


async def test_noise_estimate_from_recorded_runs(store: Store) -> None:
    runs = await seed_runs(store, (4, 5, 6), n=12)
    est = estimate_noise(store, [r.id for r in runs.values()], z=2.0)
    faith = est.metrics["faithfulness"]
    assert faith.values == pytest.approx([0.85, 0.72, 0.85])
    assert faith.sd == pytest.approx(0.0750555, rel=1e-4)
    assert faith.floor == pytest.approx(2 * faith.sd * 2**0.5)
    assert est.floor("no-such-metric") == 0.0
    with pytest.raises(UserError):
        estimate_noise(store, [runs[4].id])
