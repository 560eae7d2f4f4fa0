"""The queries behind the run inspector, on SQLite and PostgreSQL: the result filters
(errored, scorer, awaiting review), a page's feedback, a result's plan position, and
saving a run's failures as a suite."""

from __future__ import annotations

import pytest

import evalbook
from evalbook.analysis.feedback import record_feedback
from evalbook.errors import UserError
from evalbook.storage.catalog import registered_derived_metrics, suite_cases, suite_refs
from evalbook.storage.feedback import feedback_of_results
from evalbook.storage.regression import save_failures_as_suite
from evalbook.storage.results import (
    ResultFilter,
    asks_for_review,
    count_awaiting_review,
    query_results,
    result_seq,
)
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE
from evalbook.suites import load_suite_from_dict

from .feedback_runs import HUMAN, reviewed_run


def _ids(store: Store, run_id: str, **flt: object) -> list[str]:
    results, _ = query_results(store, run_id, ResultFilter(**flt), limit=50)
    return [r.case_id for r in results]


async def test_awaiting_review_shrinks_as_reviews_arrive(store: Store) -> None:
    run = await reviewed_run(store, scorers=({"contains": "answer"}, HUMAN))
    assert asks_for_review(store, run)
    assert _ids(store, run.id, awaiting_review=True) == ["c0", "c1", "c2", "c3"]
    record_feedback(store, run.id, "c1", score=4, author="ana")
    record_feedback(store, run.id, "c2", comment="not sure yet")  # a comment is no review
    record_feedback(store, run.id, "c3", label="off-topic")
    assert _ids(store, run.id, awaiting_review=True) == ["c0", "c2"]
    assert count_awaiting_review(store, run.id) == 2
    results, _ = query_results(store, run.id, ResultFilter(), limit=50)
    page = feedback_of_results(store, [r.id for r in results])
    by_case = {r.case_id: [f.score for f in page.get(r.id, [])] for r in results}
    assert by_case == {"c0": [], "c1": [4.0], "c2": [None], "c3": [None]}


async def test_scorer_errored_and_position_filters(store: Store) -> None:
    run = await reviewed_run(store, scorers=({"contains": "answer 1"}, {"contains": "answer"}))
    assert not asks_for_review(store, run)
    assert _ids(store, run.id, scorer="contains") == ["c0", "c1", "c2", "c3"]
    assert _ids(store, run.id, failed_only=True) == ["c0", "c2", "c3"]
    assert _ids(store, run.id, errored_only=True) == []
    assert _ids(store, run.id, scorer="no-such-scorer") == []
    assert result_seq(store, run.id, "c2") == 2
    assert result_seq(store, run.id, "c9") is None


async def test_failures_become_a_suite(store: Store) -> None:
    passing = await reviewed_run(store, scorers=({"contains": "answer"},))
    with pytest.raises(UserError, match="no failed or errored case"):
        save_failures_as_suite(store, DEFAULT_WORKSPACE, passing)
    derived = [{"name": "hit_rate", "expression": "contains / __count"}]
    run = await reviewed_run(store, scorers=({"contains": "answer 2"},), derived_metrics=derived)
    saved = save_failures_as_suite(store, DEFAULT_WORKSPACE, run)
    # Its registration keeps the run's derived metrics: a run of it reports the same.
    kept = registered_derived_metrics(store, DEFAULT_WORKSPACE, saved.suite_id, saved.version)
    assert [m.model_dump() for m in kept] == derived
    assert (saved.suite_id, saved.version, saved.case_count) == (
        "reviews-failures",
        f"run-{run.id}",
        3,
    )
    assert saved.state == "created"
    assert save_failures_as_suite(store, DEFAULT_WORKSPACE, run).state == "exists"
    (ref,) = suite_refs(store, DEFAULT_WORKSPACE, "reviews-failures")
    cases = suite_cases(store, ref, 0, 10)
    assert [c.id for c in cases] == ["c0", "c1", "c3"]
    assert suite_cases(store, ref, 2, 10)[0].id == "c3"
    # The same prompt and scorers as the run's suite: a run of it measures the same thing.
    source = store.get_suite(run.suite_hash)
    copy = store.get_suite(ref.hash)
    assert copy.prompt == source.prompt and copy.scorers == source.scorers


async def test_a_page_of_large_results_ends_early(store: Store) -> None:
    """A page holds about ``max_chars`` of its results' text, never less than one result;
    its cursor goes on where it ended, and walking the pages reads every result once."""
    sizes = [10, 15_000, 15_000, 10, 10, 60_000, 10]
    suite = load_suite_from_dict(
        {
            "id": "sizes",
            "model": "mock:echo",
            "prompt": "{{ q }}",
            "scorers": [{"contains": "x"}],
            "cases": [{"id": f"c{i}", "vars": {"q": "x" * n}} for i, n in enumerate(sizes)],
        }
    )
    run = await evalbook.arun(suite, store=store)
    every = [f"c{i}" for i in range(len(sizes))]
    whole, cursor = query_results(store, run.id, ResultFilter(), limit=50)
    assert [r.case_id for r in whole] == every and cursor is None  # the default: all

    pages, after = [], -1
    while True:
        results, cursor = query_results(
            store, run.id, ResultFilter(), limit=5, after_seq=after, max_chars=100_000
        )
        pages.append([r.case_id for r in results])
        if cursor is None:
            break
        assert cursor == result_seq(store, run.id, results[-1].case_id)
        after = cursor
    # ~4 × 15,000 each (prompt, output, and the body holds both again): two over 100,000
    assert pages == [["c0", "c1"], ["c2", "c3", "c4"], ["c5"], ["c6"]]
    assert [case for page in pages for case in page] == every
    one_each, _ = query_results(store, run.id, ResultFilter(), limit=5, max_chars=1)
    assert [r.case_id for r in one_each] == ["c0"]
    bounded, cursor = query_results(store, run.id, ResultFilter(), limit=2, max_chars=10**9)
    assert [r.case_id for r in bounded] == ["c0", "c1"] and cursor == 1
