"""Feedback rows on real SQLite and PostgreSQL: appended, never overwritten; clear errors."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.analysis.feedback import record_feedback
from evalbook.core.feedback import MAX_COMMENT
from evalbook.core.run import RunStatus
from evalbook.errors import NotFoundError, UserError
from evalbook.storage import tables
from evalbook.storage.feedback import (
    add_feedback,
    latest_feedback,
    list_feedback,
    records_of_kind,
    set_feedback_scores,
)
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..executor.helpers import server_model
from .feedback_runs import reviewed_run


def _rows_in_table(store: Store, run_id: str) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(tables.feedback)
                .where(tables.feedback.c.run_id == run_id)
            ).scalar_one()
        )


async def test_second_feedback_on_a_case_keeps_both_rows(store: Store) -> None:
    run = await reviewed_run(store)
    first = add_feedback(
        store, run.id[:8], "c1", name="helpfulness", score=2, comment="vague", author="ann"
    )
    second = add_feedback(store, run.id, "c1", name="helpfulness", score=4, author="ann")
    assert first.run_id == run.id and first.result_id == store.get_result(run.id, "c1").id
    assert _rows_in_table(store, run.id) == 2
    rows = list_feedback(store, run.id)
    assert [(r.id, r.score, r.comment) for r in rows] == [
        (first.id, 2.0, "vague"),
        (second.id, 4.0, None),
    ]
    assert rows[0] == first and rows[1] == second  # every field round-trips
    assert rows[0].created_at < rows[1].created_at and rows[0].created_at.tzinfo is not None
    # The latest per author is what counts; the correction is still on record above.
    assert [r.id for r in latest_feedback(store, run.id)] == [second.id]


async def test_latest_is_per_result_name_and_author(store: Store) -> None:
    run = await reviewed_run(store)
    a1 = add_feedback(store, run.id, "c0", name="helpfulness", score=3, author="ann")
    b1 = add_feedback(store, run.id, "c0", name="helpfulness", score=5, author="bob")
    a2 = add_feedback(store, run.id, "c0", name="helpfulness", score=4, author="ann")
    add_feedback(store, run.id, "c0", name="helpfulness", comment="fine after all", author="ann")
    t1 = add_feedback(store, run.id, "c0", name="tone", score=1, author="ann")
    n1 = add_feedback(store, run.id, "c1", name="helpfulness", score=2)
    n2 = add_feedback(store, run.id, "c1", name="helpfulness", score=1)  # anonymous: one author
    assert _rows_in_table(store, run.id) == 7
    # A later comment-only row does not withdraw ann's score; rows stay in time order.
    assert [r.id for r in latest_feedback(store, run.id)] == [b1.id, a2.id, t1.id, n2.id]
    assert [r.id for r in latest_feedback(store, run.id, name="tone")] == [t1.id]
    assert a1.id not in {r.id for r in latest_feedback(store, run.id)} and n1.id
    assert [r.name for r in list_feedback(store, run.id, case_id="c0")].count("helpfulness") == 4
    assert len(list_feedback(store, run.id, case_id="c1", epoch=0)) == 2


async def test_unknown_run_case_or_epoch_is_named(store: Store) -> None:
    run = await reviewed_run(store, epochs=2)
    with pytest.raises(NotFoundError, match="no run 'ffffffff-nope'"):
        add_feedback(store, "ffffffff-nope", "c0", score=1)
    with pytest.raises(NotFoundError, match=rf"run {run.id} has no case 'c9'"):
        add_feedback(store, run.id, "c9", score=1)
    with pytest.raises(NotFoundError, match=r"no epoch 2 of case 'c1' \(recorded epochs: 0, 1\)"):
        add_feedback(store, run.id, "c1", epoch=2, score=1)
    add_feedback(store, run.id, "c1", epoch=1, score=1)
    assert [r.epoch for r in list_feedback(store, run.id)] == [1]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "needs a score, a label or a comment"),
        ({"score": float("nan")}, "finite"),
        ({"score": float("inf")}, "finite"),
        ({"comment": "x" * (MAX_COMMENT + 1)}, "at most 10000 characters"),
        ({"label": ""}, "at least 1 character"),
        ({"score": 1, "name": " "}, "blank"),
        ({"score": 1, "author": "a" * 201}, "author"),
    ],
)
async def test_bad_feedback_is_refused_and_nothing_is_written(
    store: Store, fields: dict[str, object], message: str
) -> None:
    run = await reviewed_run(store, scorers=["human"])
    with pytest.raises(UserError, match=message) as info:
        add_feedback(store, run.id, "c2", **fields)  # type: ignore[arg-type]
    assert "'c2'" in str(info.value) and run.id in str(info.value)
    assert _rows_in_table(store, run.id) == 0


async def test_longest_comment_is_kept_whole(store: Store) -> None:
    run = await reviewed_run(store, scorers=["human"])
    add_feedback(store, run.id, "c0", comment="é" * MAX_COMMENT)
    [row] = list_feedback(store, run.id)
    assert row.comment == "é" * MAX_COMMENT and row.score is None and row.name == "human"


async def test_a_running_run_takes_feedback_on_what_it_has_answered(
    store: Store, server: Any
) -> None:
    """Reviews are appended rows: a run still executing takes them for its recorded
    results, and finishing the run keeps them and the summary they made."""
    suite = load_suite_from_dict(
        {
            "id": "live-review",
            "model": server_model(server.base_url),
            "prompt": "{{ q }}",
            "scorers": [{"human": {"criterion": "helpfulness", "scale": [1, 5]}}],
            "cases": [
                {"id": "fast", "vars": {"q": "hi"}},
                {"id": "slow", "vars": {"q": "[[latency=4000]] there"}},
            ],
        }
    )
    task = asyncio.create_task(evalbook.arun(suite, store=store, concurrency=2))
    deadline = time.monotonic() + 30
    while not (runs := store.list_runs()) or ("fast", 0) not in store.result_statuses(runs[0].id):
        assert time.monotonic() < deadline and not task.done()
        await asyncio.sleep(0.02)
    run_id = runs[0].id
    assert store.get_run(run_id).status is RunStatus.running
    with pytest.raises(NotFoundError, match=r"no case .slow. yet .*still executing"):
        add_feedback(store, run_id, "slow", score=1)
    row = record_feedback(store, run_id, "fast", score=4, author="ann")
    assert store.get_run(run_id).status is RunStatus.running  # it really was still running
    finished = await task
    assert finished.status is RunStatus.completed
    assert [r.id for r in list_feedback(store, run_id)] == [row.id]
    stored = store.get_run(run_id).feedback_scores
    assert stored is not None and json.loads(stored)["helpfulness"]["n"] == 1


async def test_feedback_scores_is_the_only_field_written(store: Store) -> None:
    run = await reviewed_run(store, scorers=["human"])
    before = store.get_run(run.id)
    set_feedback_scores(store, run.id, '{"human":{"mean":1}}')
    after = store.get_run(run.id)
    assert after.feedback_scores == '{"human":{"mean":1}}'
    assert after.model_copy(update={"feedback_scores": None}) == before


async def test_records_of_kind(store: Store) -> None:
    run = await reviewed_run(store)
    human = records_of_kind(store, run.id, ["human"])
    assert [(r.case_id, r.epoch, r.name, r.score) for r in human] == [
        (f"c{i}", 0, "human", None) for i in range(4)
    ]
    assert human[0].details == {"criterion": "helpfulness", "scale": [1.0, 5.0]}
    assert human[0].config == {"criterion": "helpfulness", "scale": [1, 5]}
    judges = records_of_kind(store, run.id, ["llm_judge"])
    assert [r.score for r in judges] == [1.0, 0.75, 0.25, 0.0]
    assert {r.kind for r in records_of_kind(store, run.id, ["human", "llm_judge"])} == {
        "human",
        "llm_judge",
    }
