"""The result write path on SQLite and PostgreSQL (COPY into staging + one merge there):
a duplicate delivery changes nothing, a changed one replaces the row and its scores,
any text survives, and two writers delivering the same batch at once both succeed."""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

import evalbook
from evalbook.core.result import Result, ScoreRecord
from evalbook.storage import tables
from evalbook.storage.store import Store

from ..executor.helpers import yes_no_suite


def _rows(store: Store, run_id: str) -> tuple[list[Any], list[Any]]:
    with store.engine.connect() as conn:
        results = conn.execute(
            sa.select(tables.results).where(tables.results.c.run_id == run_id).order_by("id")
        ).all()
        scores = conn.execute(
            sa.select(tables.scores)
            .where(tables.scores.c.run_id == run_id)
            .order_by("result_id", "scorer_id")
        ).all()
    return results, scores


def _tuple_versions(store: Store, run_id: str) -> list[str]:
    """PostgreSQL's row versions (``xmin``): a rewritten row gets a new one."""
    with store.engine.connect() as conn:
        return list(
            conn.execute(
                sa.text("SELECT xmin::text FROM results WHERE run_id = :r ORDER BY id"),
                {"r": run_id},
            ).scalars()
        ) + list(
            conn.execute(
                sa.text("SELECT xmin::text FROM scores WHERE run_id = :r ORDER BY result_id"),
                {"r": run_id},
            ).scalars()
        )


async def _recorded(store: Store, base_url: str, n: int = 6) -> list[Result]:
    run = await evalbook.arun(yes_no_suite(n, base_url), store=store)
    return list(store.iter_results(run.id))


async def test_a_duplicate_delivery_changes_nothing(store: Store, server: Any) -> None:
    results = await _recorded(store, server.base_url)
    run_id = results[0].run_id
    before = _rows(store, run_id)
    versions = _tuple_versions(store, run_id) if store.dialect == "postgresql" else []

    store.save_results([(r, i) for i, r in enumerate(results)])  # the same shard, again
    store.save_results([(r, i) for i, r in enumerate(results[2:], start=2)])

    assert _rows(store, run_id) == before
    assert len(before[0]) == 6 and len(before[1]) == 6
    if store.dialect == "postgresql":
        # Not even rewritten: an identical delivery leaves every stored tuple alone.
        assert _tuple_versions(store, run_id) == versions


async def test_a_changed_delivery_replaces_the_row_and_its_scores(
    store: Store, server: Any
) -> None:
    results = await _recorded(store, server.base_url, n=3)
    first, second = results[0], results[1]
    extra = ScoreRecord(
        scorer_id="extra0000001", name="extra", type="contains", kind="heuristic",
        score=0.25, passed=False, spec={"type": "contains", "value": "z"},
    )  # fmt: skip
    changed = first.model_copy(update={"output": "changed", "scores": [extra]})
    more = second.model_copy(update={"scores": [*second.scores, extra]})
    store.save_results([(changed, 0), (more, 1)])

    again = {r.case_id: r for r in store.iter_results(first.run_id)}
    assert again[first.case_id].output == "changed"
    # The scorer the new delivery no longer has is gone; the new one is there.
    assert [s.scorer_id for s in again[first.case_id].scores] == ["extra0000001"]
    assert again[first.case_id].scores[0].score == 0.25
    assert sorted(s.scorer_id for s in again[second.case_id].scores) == sorted(
        [second.scores[0].scorer_id, "extra0000001"]
    )
    assert again[results[2].case_id].scores == results[2].scores
    with store.engine.connect() as conn:
        n_results = conn.execute(
            sa.select(sa.func.count())
            .select_from(tables.results)
            .where(tables.results.c.run_id == first.run_id)
        ).scalar_one()
    assert n_results == 3


async def test_any_text_survives_the_write(store: Store, server: Any) -> None:
    [result] = await _recorded(store, server.base_url, n=1)
    text = 'tab\there\nnew line \\N back\\slash "quoted" é 𝄞 \r end'
    odd = result.model_copy(
        update={"output": text, "input": {"t": text, "none": None}, "tags": [text]}
    )
    store.save_results([(odd, 0)])
    [back] = store.iter_results(result.run_id)
    assert back.output == text and back.input == {"t": text, "none": None}
    assert back.tags == [text]
    assert back.scores == result.scores and back.attempts == result.attempts


async def test_two_writers_delivering_the_same_batch_at_once(
    store: Store, server: Any, db_url: str
) -> None:
    results = await _recorded(store, server.base_url, n=40)
    run_id = results[0].run_id
    before = _rows(store, run_id)
    batch = [(r, i) for i, r in enumerate(results)]
    stores = [Store.open(db_url), Store.open(db_url)]
    errors: list[BaseException] = []

    def deliver(s: Store, rows: list[tuple[Result, int]]) -> None:
        try:
            for _ in range(5):
                s.save_results(rows)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=deliver, args=(stores[0], batch)),
        threading.Thread(target=deliver, args=(stores[1], batch[::-1])),
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for s in stores:
        s.close()
    assert errors == []
    assert _rows(store, run_id) == before


async def test_summary_facts_are_the_stored_columns(store: Store, server: Any) -> None:
    """What a run's summary reads through the DB-API cursor is what is stored."""
    results = await _recorded(store, server.base_url, n=7)
    run_id = results[0].run_id
    facts = sorted(store.result_facts(run_id))
    assert [f.case_id for f in facts] == sorted(r.case_id for r in results)
    by_case = {r.case_id: r for r in results}
    for fact in facts:
        result = by_case[fact.case_id]
        assert (fact.epoch, fact.status, fact.score, fact.section) == (
            result.epoch,
            result.status.value,
            result.score,
            result.section,
        )
        assert bool(fact.cached) is result.cached and fact.latency_ms == result.latency_ms
        assert (fact.input_tokens, fact.output_tokens) == (
            result.input_tokens,
            result.output_tokens,
        )
    scores = list(store.score_facts(run_id))
    assert len(scores) == sum(len(r.scores) for r in results)
    assert sorted((s.name, s.score, bool(s.passed)) for s in scores) == sorted(
        (s.name, s.score, bool(s.passed)) for r in results for s in r.scores
    )
    assert all(bool(s.higher_is_better) for s in scores)
