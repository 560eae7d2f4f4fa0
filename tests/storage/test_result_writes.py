"""The result write path on SQLite and PostgreSQL (there: new results COPY-ed straight in,
stored ones COPY-ed into staging and merged): a duplicate delivery changes nothing, a
changed one replaces the row and its scores, a batch may mix new and stored results, any
value reads back the same on either path, and two writers delivering the same batch at
once both succeed."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.config import stored_bytes_limit
from evalbook.core.identity import result_id, stable_uuid
from evalbook.core.result import Result, ScoreRecord
from evalbook.core.run import RunStatus
from evalbook.errors import StorageError
from evalbook.storage import tables
from evalbook.storage.bulk import BulkUpsert, ResultRows
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
        # Not even rewritten: an identical delivery leaves every stored tuple alone, and
        # not locked either (a lock is a write to the row and to the WAL).
        assert _tuple_versions(store, run_id) == versions
        with store.engine.connect() as conn:
            lockers = conn.execute(
                sa.text(
                    "SELECT xmax::text FROM results WHERE run_id = :r"
                    " UNION ALL SELECT xmax::text FROM scores WHERE run_id = :r"
                ),
                {"r": run_id},
            ).scalars()
            assert set(lockers) == {"0"}


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


def _fresh(result: Result, case_id: str, **update: Any) -> Result:
    """A result of the same run not recorded yet (its own identity)."""
    return result.model_copy(
        update={"id": stable_uuid(result.run_id, case_id, "0"), "case_id": case_id, **update}
    )


async def test_a_batch_of_new_and_stored_results_writes_both(store: Store, server: Any) -> None:
    """Stored ones merged (a changed one replaced, its dropped score deleted, an unchanged
    one left alone), new ones added, in one call."""
    results = await _recorded(store, server.base_url, n=4)
    run_id = results[0].run_id
    before = {r.id: r for r in results}
    changed = results[1].model_copy(update={"output": "changed", "scores": []})
    new = [_fresh(results[0], f"new-{i}", output=f"new {i}") for i in range(3)]
    batch = [(results[0], 0), (changed, 1), *[(r, 10 + i) for i, r in enumerate(new)]]
    store.save_results(batch)

    back = {r.id: r for r in store.iter_results(run_id)}
    assert len(back) == 7
    assert back[results[0].id] == before[results[0].id]
    assert back[changed.id].output == "changed" and back[changed.id].scores == []
    for r in new:
        assert back[r.id].output == r.output and back[r.id].scores == r.scores
    assert back[results[2].id] == before[results[2].id]
    _, scores = _rows(store, run_id)
    assert len(scores) == 4 + 3 - 1

    store.save_results(batch)  # all stored now: nothing changes
    assert {r.id: r for r in store.iter_results(run_id)} == back


async def test_a_result_stored_under_another_id_is_written_over_under_that_id(
    store: Store, server: Any
) -> None:
    """An item delivered again under another id than its stored row has (a worker of an
    earlier release, which named results by uuid5, delivering an item of a fleet's run
    that a newer worker recorded, or the other way round) replaces that row under the
    stored id, its scores with it, instead of failing the batch on the item's unique key;
    a new result in the same batch is added."""
    results = await _recorded(store, server.base_url, n=3)
    run_id = results[0].run_id
    stored_id = results[1].id
    again = results[1].model_copy(
        update={"id": stable_uuid(run_id, results[1].case_id, "0"), "output": "again"}
    )
    assert stored_id == result_id(run_id, 1, results[1].case_id, 0) != again.id
    new = _fresh(results[0], "new-0", output="new")
    for _ in range(2):  # the second time, every row is stored: nothing changes
        store.save_results([(again, 1), (new, 5)])
        back = {r.case_id: r for r in store.iter_results(run_id)}
        assert len(back) == 4
        assert back[again.case_id].id == stored_id and back[again.case_id].output == "again"
        assert back[again.case_id].scores == again.scores
        assert back["new-0"].id == new.id
        _, scores = _rows(store, run_id)
        assert len(scores) == 4 and {s[0] for s in scores} == {r.id for r in back.values()}


async def test_nulls_unicode_nul_and_huge_values_read_back_the_same_on_either_path(
    store: Store, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a result reads back is the same whether it went in new (straight ``COPY`` on
    PostgreSQL) or over a stored one (the merge), and the same on SQLite: absent values
    NULL, any text kept, NUL as U+FFFD and an oversized value cut (``stored_values``)."""
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", "5000")
    [result] = await _recorded(store, server.base_url, n=1)
    bare = result.model_copy(
        update={
            "failure_reason": None, "score": None, "section": None, "expected": None,
            "latency_ms": None, "input_tokens": None, "output_tokens": None, "cost_usd": None,
            "served_model": None, "system_fingerprint": None, "cache_key": None,
            "error_type": None, "error_message": None, "prompt": None, "output": None,
            "scores": [
                s.model_copy(update={"score": None, "passed": None, "label": None,
                                     "threshold": None, "error": None})
                for s in result.scores
            ],
        }
    )  # fmt: skip
    text = "é 𝄞 \\N \\. tab\tcr\r\nnul\x00end \\u0000 \U0010ffff"
    odd = result.model_copy(
        update={
            "output": text,
            "prompt": "x" * 20_000,
            "section": "ß∂",
            "input": {"t": text, "none": None},
            "scores": [s.model_copy(update={"error": text, "label": "ü"}) for s in result.scores],
        }
    )
    new_bare, new_odd = _fresh(bare, "bare"), _fresh(odd, "odd")
    store.save_results([(new_bare, 1), (new_odd, 2)])  # new rows
    first = {r.case_id: r for r in store.iter_results(result.run_id)}
    store.save_results([(bare, 0)])  # over a stored row
    store.save_results([(odd, 0)])  # and again, changed
    merged = next(r for r in store.iter_results(result.run_id) if r.case_id == result.case_id)

    for got, want in ((first["bare"], new_bare), (first["odd"], new_odd)):
        assert got.model_dump(exclude={"output", "prompt", "input", "scores"}) == want.model_dump(
            exclude={"output", "prompt", "input", "scores"}
        )
    assert first["bare"].output is None and first["bare"].score is None
    assert [(s.score, s.passed, s.label, s.error) for s in first["bare"].scores] == [
        (None, None, None, None)
    ] * len(result.scores)
    fitted = text.replace("\x00", "\ufffd")
    for got in (first["odd"], merged):
        assert got.output == fitted and got.section == "ß∂"
        assert got.input == {"t": fitted, "none": None}
        assert [s.error for s in got.scores] == [fitted] * len(result.scores)
        assert got.prompt is not None and got.prompt.endswith("(EVALBOOK_MAX_STORED_BYTES)]")
        assert len(got.prompt.encode()) <= 5000
    assert merged.scores == first["odd"].scores


def _deliver(store: Store, batch: list[tuple[Result, int]]) -> BaseException | None:
    try:
        store.save_results(batch)
    except BaseException as exc:  # pragma: no cover - reported by the test
        return exc
    return None


def _wait_for_a_lock_wait(store: Store) -> None:
    with store.engine.connect() as conn:
        for _ in range(600):
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the second writer never waited on the first one's keys")


async def test_results_another_writer_records_meanwhile_are_merged(
    pg_url: str, server: Any
) -> None:
    """PostgreSQL: results taken to be new, which another writer records before this one's
    ``COPY`` commits, are merged instead (the ``COPY`` waits on the other writer's keys, is
    refused, and the batch is rolled back and written again through the probe and the
    merge): both deliveries succeed and the record holds the batch once."""
    first, second = Store.open(pg_url), Store.open(pg_url)
    try:
        [template] = await _recorded(first, server.base_url, n=1)
        batch = [(_fresh(template, f"raced-{i}", output=f"o{i}"), i) for i in range(30)]
        done: list[BaseException | None] = []
        with first._writer.begin() as holding:  # the other writer, not committed yet
            first._bulk.write(holding, ResultRows(batch, stored_bytes_limit()), probe=False)
            thread = threading.Thread(target=lambda: done.append(_deliver(second, batch)))
            thread.start()
            _wait_for_a_lock_wait(first)
        thread.join(timeout=60)
        assert done == [None]
        results, scores = _rows(first, template.run_id)
        assert len(results) == 31 and len(scores) == 31 * len(template.scores)
        back = {r.case_id: r for r in first.iter_results(template.run_id)}
        assert [back[f"raced-{i}"].output for i in range(30)] == [f"o{i}" for i in range(30)]
    finally:
        first.close()
        second.close()


#: Texts ``COPY``'s text format must escape: its delimiter, row end, escape character and
#: NULL marker, every other control character, and characters outside the BMP.
_HOSTILE = [
    "\\N",
    "\\",
    "",
    "\t",
    "\n",
    "\r\n",
    "\\.",
    "a\\tb\\nc",
    "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "é ß ∂ 中文 𝄞 \U0010ffff \u2028 \ufeff",
    "long " + "x\ty\\z\n" * 300_000,  # 1.8 MB
]


async def test_hostile_texts_read_back_exactly_new_or_merged(store: Store, server: Any) -> None:
    """Every text a model may answer reads back byte for byte, whether its result went in
    new (PostgreSQL: straight ``COPY``) or over a stored one (the merge), and ``""`` stays
    apart from ``None`` (``\\N`` is ``COPY``'s NULL marker)."""
    [template] = await _recorded(store, server.base_url, n=1)

    def hostile(i: int, text: str, case_id: str) -> Result:
        scores = [s.model_copy(update={"error": text, "label": text[:50]}) for s in template.scores]
        return _fresh(
            template,
            case_id,
            output=text,
            error_message=text,
            expected=text,
            input={"t": text},
            tags=[text[:100]],
            scores=scores,
        )

    batch = [(hostile(i, text, f"h{i}"), i) for i, text in enumerate(_HOSTILE)]
    store.save_results(batch)  # new
    back = {r.case_id: r for r in store.iter_results(template.run_id)}
    swapped = [
        (hostile(i, text, f"h{len(_HOSTILE) - 1 - i}"), i) for i, text in enumerate(_HOSTILE)
    ]
    store.save_results(swapped)  # over the stored ones, each text now in another case
    merged = {r.case_id: r for r in store.iter_results(template.run_id)}

    for i, text in enumerate(_HOSTILE):
        for got in (back[f"h{i}"], merged[f"h{len(_HOSTILE) - 1 - i}"]):
            assert got.output == text and got.error_message == text and got.expected == text
            assert got.input == {"t": text} and got.tags == [text[:100]]
            assert [(s.error, s.label) for s in got.scores] == [(text, text[:50])] * len(
                template.scores
            )
    assert back["h2"].output == "" and back["h0"].output == "\\N"


async def test_a_stored_result_late_in_a_new_batch_sends_it_to_the_merge(
    store: Store, server: Any
) -> None:
    """A batch taken to be new whose last result (in key order) is stored already: the
    straight ``COPY`` is refused after every row was built, and the batch is merged with
    the rows built once; the store then asks first, until a batch is new again."""
    [template] = await _recorded(store, server.base_url, n=1)
    new = [_fresh(template, f"n{i}", output=f"new {i}") for i in range(50)]
    last = max(new, key=lambda r: r.id)
    store.save_results([(last, 0)])
    changed = [r.model_copy(update={"output": f"{r.output}!"}) for r in new]
    store.save_results([(r, i) for i, r in enumerate(changed)])
    back = {r.case_id: r for r in store.iter_results(template.run_id)}
    assert len(back) == 51
    assert all(back[r.case_id].output == r.output for r in changed)
    assert all(back[r.case_id].scores == r.scores for r in changed)
    more = [_fresh(template, f"m{i}", output=f"more {i}") for i in range(5)]
    store.save_results([(r, 100 + i) for i, r in enumerate(more)])
    store.save_results([(r, 100 + i) for i, r in enumerate(more)])  # a duplicate
    assert len(list(store.iter_results(template.run_id))) == 56
    _, scores = _rows(store, template.run_id)
    assert len(scores) == 56 * len(template.scores)


async def test_a_running_runs_cost_is_what_its_recorded_results_spent(
    store: Store, server: Any
) -> None:
    """Each batch adds what its results spent to the run's cost while the run runs (a
    fleet's shards each add their own): a duplicate adds nothing, a changed result adds
    the difference, a cached answer nothing, and a finished run's cost is left alone."""
    [template] = await _recorded(store, server.base_url, n=1)
    run = store.get_run(template.run_id)
    store.update_run(run.model_copy(update={"status": RunStatus.running, "cost": None}))

    def priced(i: int, cost: float | None, cached: bool = False) -> tuple[Result, int]:
        return _fresh(template, f"p{i}", cost_usd=cost, cached=cached), i

    store.save_results([priced(i, None) for i in range(3)])
    assert store.get_run(run.id).cost is None  # no price known: unknown, not 0
    batch = [priced(i, 0.25) for i in range(4)]
    store.save_results(batch)
    assert store.get_run(run.id).cost == pytest.approx(1.0)
    store.save_results(batch)  # a duplicate delivery
    store.save_results(batch[:2])
    assert store.get_run(run.id).cost == pytest.approx(1.0)
    store.save_results([priced(0, 1.25), priced(9, 7.0, cached=True)])  # changed; cached
    assert store.get_run(run.id).cost == pytest.approx(2.0)

    finished = store.get_run(run.id).model_copy(update={"status": RunStatus.completed})
    store.update_run(finished.model_copy(update={"cost": 2.0}))
    store.save_results([priced(20, 5.0)])  # a late writer: the finish said the last word
    assert store.get_run(run.id).cost == 2.0


async def test_overlapping_deliveries_leave_each_result_once_with_its_scores_once(
    store: Store, server: Any
) -> None:
    """Shards delivered with overlaps (a resumed or re-sent one): each result is stored
    once, with its scores exactly once, and the latest delivery's values win."""
    [template] = await _recorded(store, server.base_url, n=1)
    first = [(_fresh(template, f"o{i}", output=f"a{i}"), i) for i in range(60)]
    second = [(_fresh(template, f"o{i}", output=f"b{i}"), i) for i in range(30, 90)]
    store.save_results(first)
    store.save_results(second)
    store.save_results(first[:45])  # the first again, in part: its values come back
    store.save_results(second[40:])  # and a tail of the second, unchanged
    results, scores = _rows(store, template.run_id)
    assert len(results) == 91
    per_result: dict[str, int] = {}
    for s in scores:
        per_result[s.result_id] = per_result.get(s.result_id, 0) + 1
    assert set(per_result) == {r.id for r in results}
    assert set(per_result.values()) == {len(template.scores)}
    back = {r.case_id: r.output for r in store.iter_results(template.run_id)}
    assert [back[f"o{i}"] for i in range(90)] == [f"a{i}" if i < 45 else f"b{i}" for i in range(90)]


@pytest.mark.parametrize("stored_first", [False, True], ids=["new", "merged"])
@pytest.mark.parametrize("refused_by", ["server", "client"])
async def test_a_failure_mid_copy_writes_nothing_of_the_batch_and_surfaces(
    pg_url: str, server: Any, stored_first: bool, refused_by: str
) -> None:
    """PostgreSQL: a row refused half-way through a batch's ``COPY`` (by the server: a
    case id longer than its column; by the client: a plan position past a 4-byte
    integer) fails the whole batch with an error that says why, leaves none of its rows
    or scores (nor a stored result's new values) behind, and the store writes the next
    batch as usual."""
    store = Store.open(pg_url)
    try:
        [template] = await _recorded(store, server.base_url, n=1)
        batch = [(_fresh(template, f"f{i}", output=f"v{i}"), i) for i in range(40)]
        if stored_first:
            store.save_results(batch[:20])
        before = _rows(store, template.run_id)
        changed = [(r.model_copy(update={"output": "changed"}), i) for r, i in batch]
        # In key order the refused row comes after others have been sent.
        at = sorted(range(40), key=lambda i: batch[i][0].id)[25]
        bad, seq = changed[at]
        if refused_by == "server":
            changed[at] = (bad.model_copy(update={"case_id": "x" * 301}), seq)
        else:
            changed[at] = (bad, 2**31)
        with pytest.raises(StorageError, match="saving 40 results failed") as failed:
            store.save_results(changed)
        if refused_by == "server":
            assert "too long" in str(failed.value)
        else:  # named, with the result's id, never stored wrapped around
            assert f"results.seq = {2**31} is out of range" in str(failed.value)
            assert bad.id in str(failed.value)
        assert _rows(store, template.run_id) == before
        store.save_results(batch)
        results, scores = _rows(store, template.run_id)
        assert len(results) == 41 and len(scores) == 41 * len(template.scores)
    finally:
        store.close()


async def test_a_result_write_waits_for_the_disk_like_every_commit(
    pg_url: str, server: Any
) -> None:
    """PostgreSQL: the results' transaction commits synchronously, as every other one
    does: a batch acknowledged is on disk, so a crash of the database during a run cannot
    drop results the run goes on to summarise as recorded."""
    store = Store.open(pg_url)
    try:
        [template] = await _recorded(store, server.base_url, n=1)
        batch = [(_fresh(template, f"s{i}", output=f"v{i}"), i) for i in range(5)]
        with store.write() as conn:
            store._bulk.write(conn, ResultRows(batch, stored_bytes_limit()), probe=False)
            inside = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
            pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with store.write() as conn:
            assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one() == pid
            after = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
        assert (inside, after) == ("on", "on")
        assert len(_rows(store, template.run_id)[0]) == 6
    finally:
        store.close()


async def test_a_time_without_a_zone_is_stored_as_utc_new_or_merged(
    store: Store, server: Any
) -> None:
    """A result whose time has no zone (an importer's) reads back as that time in UTC,
    whether it went in new or over a stored one."""
    [template] = await _recorded(store, server.base_url, n=1)
    naive = datetime(2024, 5, 6, 7, 8, 9, 123456)
    result = _fresh(template, "naive", created_at=naive)
    store.save_results([(result, 0)])
    [back] = [r for r in store.iter_results(template.run_id) if r.case_id == "naive"]
    assert back.created_at == naive.replace(tzinfo=UTC)
    later = naive + timedelta(hours=1)
    store.save_results([(result.model_copy(update={"created_at": later}), 0)])
    [back] = [r for r in store.iter_results(template.run_id) if r.case_id == "naive"]
    assert back.created_at == later.replace(tzinfo=UTC)


_REGTYPE = {
    "varchar": "character varying",
    "text": "text",
    "int2": "smallint",
    "int4": "integer",
    "int8": "bigint",
    "float8": "double precision",
    "bool": "boolean",
    "jsonb": "jsonb",
    "timestamptz": "timestamp with time zone",
}


def test_the_binary_copy_sends_each_column_as_its_migrated_type(pg_url: str) -> None:
    """PostgreSQL: the binary ``COPY`` must send every value in its column's own binary
    form; the types it sends (from the table definitions) are those the migrations made."""
    store = Store.open(pg_url)
    try:
        for table in (tables.results, tables.scores):
            sent = BulkUpsert(table, "postgresql", conflict=["id"]).pg_types
            with store.engine.connect() as conn:
                migrated = dict(
                    conn.execute(
                        sa.text(
                            "SELECT attname, atttypid::regtype::text FROM pg_attribute"
                            " WHERE attrelid = CAST(:t AS regclass) AND attnum > 0"
                            " AND NOT attisdropped"
                        ),
                        {"t": table.name},
                    ).all()
                )
            assert {c.name: _REGTYPE[n] for c, n in zip(table.c, sent, strict=True)} == migrated
    finally:
        store.close()


async def test_results_of_a_run_not_recorded_are_refused_and_nothing_is_written(
    store: Store, server: Any
) -> None:
    """Since 0010 no foreign key checks each result's run: the writer checks each run of a
    batch once. A batch naming a run the database does not hold is refused whole, naming
    the run, whether its results are new or stored already, on either path."""
    results = await _recorded(store, server.base_url, n=3)
    run_id = results[0].run_id
    before = _rows(store, run_id)
    ghost = "00000000-0000-4000-8000-0000000000aa"
    stray = results[1].model_copy(update={"run_id": ghost, "id": stable_uuid(ghost, "c", "0")})
    for batch in ([(stray, 0)], [(results[0], 0), (stray, 1)]):
        with pytest.raises(StorageError, match=f"run {ghost} is not recorded"):
            store.save_results(batch)
    assert _rows(store, run_id) == before
    assert _rows(store, ghost) == ([], [])
    store.save_results([(results[0], 0)])  # the writer goes on
    assert _rows(store, run_id) == before


async def test_a_first_delivery_and_its_redelivery_store_the_same_on_either_path(
    store: Store, server: Any
) -> None:
    """A batch taken to be new goes in without asking what is stored (SQLite: plain
    ``INSERT``; PostgreSQL: straight ``COPY``); the same batch delivered again goes through
    the upsert. Both leave the same rows, scores and run cost, and a re-delivered batch
    changes nothing; the store then asks first until a batch is found new again."""
    [template] = await _recorded(store, server.base_url, n=1)
    run = store.get_run(template.run_id)
    store.update_run(run.model_copy(update={"status": RunStatus.running, "cost": None}))
    batch = [
        (_fresh(template, f"f{i}", output=f"o{i}", cost_usd=0.5, cached=i % 2 == 1), i)
        for i in range(20)
    ]
    assert not store._bulk.probe
    store.save_results(batch)
    assert not store._bulk.probe  # new: nothing was asked, nothing refused
    first = _rows(store, template.run_id)
    cost = store.get_run(run.id).cost
    assert cost == pytest.approx(0.5 * 10)

    store.save_results(batch)  # again: refused as new, rolled back, upserted
    assert store._bulk.probe
    assert _rows(store, template.run_id) == first
    assert store.get_run(run.id).cost == cost

    store.save_results(batch[5:8])  # asked first now, found stored: still asking
    assert store._bulk.probe
    assert _rows(store, template.run_id) == first
    more = [(_fresh(template, f"g{i}", output=f"p{i}"), 100 + i) for i in range(3)]
    store.save_results(more)  # asked first, found new: new batches go straight in again
    assert not store._bulk.probe
    results, scores = _rows(store, template.run_id)
    assert len(results) == 24 and len(scores) == 24 * len(template.scores)
    assert {r.case_id: r.output for r in store.iter_results(run.id)}["g2"] == "p2"


async def test_a_redelivered_batch_keeps_its_cache_entries_on_sqlite(
    tmp_path: Any, server: Any
) -> None:
    """SQLite with the cache in the database: a batch refused as new (one of its results
    is stored) is written again through the upsert with its cache entries, in one
    transaction: nothing of either is lost."""
    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        assert store.cache_with_results
        [template] = await _recorded(store, server.base_url, n=1)
        batch = [(_fresh(template, f"k{i}", output=f"o{i}"), i) for i in range(5)]
        store.save_results(batch[:1])
        entries = [
            {
                "key": f"key{i}",
                "scope": "s",
                "provider": "p",
                "model": "m",
                "response": {"text": "t"},
            }
            for i in range(5)
        ]
        store.save_results(batch, entries)
        assert store._bulk.probe
        assert set(store.cache_get_many([e["key"] for e in entries])) == {e["key"] for e in entries}
        assert len(_rows(store, template.run_id)[0]) == 6
    finally:
        store.close()
