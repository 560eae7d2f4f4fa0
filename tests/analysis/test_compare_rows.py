"""The comparison's per-case rows on both databases: every paired case by key (or only
those whose outputs differ) joined in SQL, the flips paged in memory, diffs of the page's
rows only, and the cached comparison of finished runs."""

from __future__ import annotations

import pytest

import evalbook
from evalbook.analysis.compare.cache import cached_comparison
from evalbook.analysis.compare.rows import compare_rows, one_case
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.storage.judging import workspace_pairwise
from evalbook.storage.paired_rows import paired_rows
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

MODEL = {"provider": "python", "name": "tests.scorers.judge_fixtures:reply"}
BASE = {"c0": "yes a", "c1": "yes b", "c2": "no c", "c3": "yes d", "c4": "yes e", "c5": "same"}
CAND = {"c0": "yes a", "c1": "no b", "c2": "yes c", "c3": "no d", "c4": "yes E", "c5": "same"}


def _run(store: Store, replies: dict[str, str]) -> RunRecord:
    suite = load_suite_from_dict(
        {
            "id": "rows",
            "name": "rows",
            "model": MODEL,
            "prompt": "Answer: {{ reply }}",
            "scorers": [{"contains": "yes"}],
            "cases": [{"id": k, "vars": {"reply": v}} for k, v in replies.items()],
        }
    )
    return evalbook.run(suite, store=store, use_cache=False)


@pytest.fixture
def runs(store: Store) -> tuple[RunRecord, RunRecord]:
    return _run(store, BASE), _run(store, CAND)


def test_paired_rows_page_by_key_and_pick_different_outputs(
    store: Store, runs: tuple[RunRecord, RunRecord]
) -> None:
    a, b = runs
    first, after = paired_rows(store, a.id, b.id, limit=4)
    rest, end = paired_rows(store, a.id, b.id, after=after, limit=4)
    assert [r.case_id for r in first + rest] == ["c0", "c1", "c2", "c3", "c4", "c5"]
    assert after == ("c3", 0) and end is None
    assert (first[1].baseline_status, first[1].candidate_status) == ("passed", "failed")
    different, _ = paired_rows(store, a.id, b.id, different_only=True, limit=10)
    assert [r.case_id for r in different] == ["c1", "c2", "c3", "c4"]


def test_compare_rows_views_and_diffs(store: Store, runs: tuple[RunRecord, RunRecord]) -> None:
    a, b = runs
    comparison = cached_comparison(store, a, b)
    assert cached_comparison(store, a, b) is comparison  # finished runs: from memory
    flips = compare_rows(store, comparison, a, b, show="flips", limit=2)
    assert [(r.case_id, r.kind) for r in flips.rows] == [("c1", "regression"), ("c3", "regression")]
    assert flips.total == 3 and flips.next_cursor is not None
    more = compare_rows(store, comparison, a, b, show="flips", cursor=flips.next_cursor)
    assert [(r.case_id, r.kind) for r in more.rows] == [("c2", "fix")] and more.next_cursor is None
    c1 = flips.rows[0]
    assert [(op.op, op.text) for op in c1.diff.output] == [
        ("delete", "yes"),
        ("insert", "no"),
        ("equal", " b"),
    ]
    # The prompt version is the same, but the rendered prompts differ: their diff shows.
    assert c1.diff.prompt is not None and ("insert", "no") in [
        (op.op, op.text) for op in c1.diff.prompt
    ]
    every = compare_rows(store, comparison, a, b, show="all", limit=4)
    assert every.total == 6 and [r.case_id for r in every.rows] == ["c0", "c1", "c2", "c3"]
    assert every.rows[0].diff.prompt is None  # same rendering: no prompt diff
    tail = compare_rows(store, comparison, a, b, show="all", cursor=every.next_cursor)
    assert [r.case_id for r in tail.rows] == ["c4", "c5"] and tail.next_cursor is None
    changed = compare_rows(store, comparison, a, b, show="different")
    assert [(r.case_id, r.kind) for r in changed.rows][-1] == ("c4", "same")
    with pytest.raises(UserError, match="cursor"):
        compare_rows(store, comparison, a, b, show="all", cursor="!!")
    with pytest.raises(UserError, match="cursor"):
        compare_rows(store, comparison, a, b, show="flips", cursor=every.next_cursor)
    one = one_case(store, comparison, a, b, "c3")
    assert one is not None and one.kind == "regression" and one.delta == -1.0
    assert one_case(store, comparison, a, b, "nope") is None


def test_a_pairwise_comparison_of_another_workspace_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError):
        workspace_pairwise(store, "default", "missing")
