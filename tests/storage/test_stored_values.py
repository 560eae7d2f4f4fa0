"""Hostile model output cannot break the record: an output, an input, a score's evidence
past the storage limit (``EVALBOOK_MAX_STORED_BYTES``) is stored truncated with a marker,
and a NUL character (which PostgreSQL refuses in text and jsonb) as U+FFFD. The run
completes and every other result is stored exactly as it was — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

import evalbook
from evalbook.config import DEFAULT_STORED_BYTES
from evalbook.core.pairwise import PairwiseJudgment
from evalbook.errors import UserError
from evalbook.scorers import SCORERS
from evalbook.storage import tables as t
from evalbook.storage.pairwise import add_judgments, create_comparison, iter_judgments
from evalbook.storage.run_events import append_events, read_events
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

LIMIT = 20_000
BIG = "word " * 12_000  # 60,000 bytes


def huge_evidence(ctx: evalbook.ScoreContext) -> evalbook.ScoreOutcome:
    big = ctx.case.vars.get("evidence") == "big"
    return evalbook.ScoreOutcome(score=1.0, evidence={"details": {"blob": BIG if big else "small"}})


@pytest.fixture
def evidence_scorer() -> Iterator[None]:
    evalbook.scorer(name="huge-evidence", threshold=0.5)(huge_evidence)
    try:
        yield
    finally:
        SCORERS.unregister("huge-evidence")


async def test_oversized_and_nul_values_are_stored_fit_and_the_run_completes(
    store: Store, evidence_scorer: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", str(LIMIT))
    suite = load_suite_from_dict(
        {
            "id": "hostile-output",
            "model": "mock:echo",
            "prompt": '{{ q }}{% if nul %}{{ "\\x00" }}end{% endif %}',
            "scorers": ["huge-evidence"],
            "cases": [
                {"id": "plain", "vars": {"q": "hello there", "nul": False}},
                {"id": "huge", "vars": {"q": BIG, "nul": False}},
                {"id": "nul", "vars": {"q": "before", "nul": True}},
                {"id": "evidence", "vars": {"q": "fine", "nul": False, "evidence": "big"}},
            ],
        }
    )
    run = await evalbook.arun(suite, store=store)
    assert run.status == "completed" and run.counts.total == 4 and run.counts.errored == 0
    results = {r.case_id: r for r in store.iter_results(run.id)}
    assert set(results) == {"plain", "huge", "nul", "evidence"}

    assert results["plain"].output == "hello there"  # the others are untouched
    assert results["evidence"].output == "fine"

    huge = results["huge"]
    assert huge.output is not None and len(huge.output.encode()) <= LIMIT
    assert huge.output.startswith("word word")
    assert huge.output.endswith(
        "[evalbook: output truncated: 60,000 bytes, over the storage limit of 20,000"
        " (EVALBOOK_MAX_STORED_BYTES)]"
    )
    assert "evalbook_truncated" in huge.input  # the case's variables, too large as well
    assert huge.score == 1.0  # scored on the whole answer before it was cut

    nul = results["nul"]
    assert nul.output == "before\ufffdend" and nul.prompt == "before\ufffdend"
    assert "\x00" not in nul.messages[0].text

    evidence = results["evidence"].scores[0].evidence
    assert evidence.rationale is not None and "truncated" in evidence.rationale
    assert results["plain"].scores[0].evidence.details == {"blob": "small"}

    with store.engine.connect() as conn:
        bodies = dict(conn.execute(sa.select(t.results.c.case_id, t.results.c.body)).all())
    changed = {case: body.get("stored_changes") for case, body in bodies.items()}
    assert changed["plain"] is None
    assert {c["field"] for c in changed["huge"]} >= {"output", "input", "prompt"}
    assert {c["change"] for c in changed["nul"]} == {"NUL replaced by U+FFFD"}
    assert changed["evidence"][0]["field"] == "scores.huge-evidence.evidence"

    # An answer that could not be stored as it is is not cached (changed, it would be served
    # as what the model said); the others are.
    again = await evalbook.arun(suite, store=store)
    cached = {r.case_id: r.cached for r in store.iter_results(again.id)}
    assert cached == {"plain": True, "huge": False, "nul": False, "evidence": True}


def test_a_progress_event_with_a_nul_is_stored(store: Store) -> None:
    run = evalbook.run(
        load_suite_from_dict(
            {"id": "e", "model": "mock:echo", "prompt": "x", "cases": [{"id": "a"}]}
        ),
        store=store,
    )
    append_events(store, [(run.id, "item", {"case_id": "a", "output": "a\x00b"})])
    assert read_events(store, run.id)[0].data["output"] == "a\ufffdb"


def test_a_pairwise_judgment_with_a_nul_is_stored(store: Store) -> None:
    suite = load_suite_from_dict(
        {"id": "p", "model": "mock:echo", "prompt": "x", "cases": [{"id": "a"}]}
    )
    first, second = evalbook.run(suite, store=store), evalbook.run(suite, store=store)
    comparison = create_comparison(
        store,
        baseline_run_id=first.id,
        candidate_run_id=second.id,
        criterion="helpfulness",
        judge={"provider": "mock", "name": "judge"},
        template="pairwise-v1",
    )
    judgment = PairwiseJudgment(
        case_id="a",
        outcome="tie",
        candidate_first="tie",
        baseline_first="tie",
        detail={"candidate_first": {"reason": "same\x00same"}},
    )
    add_judgments(store, comparison.id, [judgment])
    stored = next(iter_judgments(store, comparison.id))
    assert stored.detail == {"candidate_first": {"reason": "same\ufffdsame"}}


def test_the_default_limit_is_far_below_what_postgresql_refuses() -> None:
    assert DEFAULT_STORED_BYTES * 8 <= 256 * 1024 * 1024  # a jsonb value's limit


async def test_a_suite_over_its_limit_is_refused_naming_its_largest_case(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A suite is never cut: over EVALBOOK_MAX_SUITE_BYTES it is refused before anything
    is recorded, with the suite and its largest case named (PostgreSQL's own refusal, past
    a jsonb value's 255 MiB, names neither)."""
    monkeypatch.setenv("EVALBOOK_MAX_SUITE_BYTES", str(LIMIT))
    cases = [{"id": f"c{i}", "vars": {"q": "short"}} for i in range(3)]
    suite = load_suite_from_dict(
        {
            "id": "too-big",
            "model": "mock:echo",
            "prompt": "{{ q }}",
            "cases": [*cases, {"id": "the-long-one", "vars": {"q": BIG}}],
        }
    )
    with pytest.raises(UserError) as refused:
        await evalbook.arun(suite, store=store)
    message = str(refused.value)
    assert "'too-big'" in message and "'the-long-one'" in message
    assert "EVALBOOK_MAX_SUITE_BYTES" in message
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.suites)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar() == 0
    monkeypatch.setenv("EVALBOOK_MAX_SUITE_BYTES", str(10 * LIMIT))  # under it: recorded
    run = await evalbook.arun(suite, store=store)
    assert run.status == "completed" and run.counts.total == 4


@pytest.mark.parametrize("where", ["case", "scorer"])
async def test_a_suite_holding_a_nul_is_refused_alike_on_both_databases(
    store: Store, where: str
) -> None:
    """Not replaced as an output's NUL is (a suite is recorded exactly as written), and
    not PostgreSQL's jsonb error: refused before anything is recorded, the place named."""
    nul_case = where == "case"
    suite = load_suite_from_dict(
        {
            "id": "nul-suite",
            "model": "mock:echo",
            "prompt": "{{ q }}",
            "scorers": [{"type": "contains", "value": "a" if nul_case else "a\x00b"}],
            "cases": [
                {"id": "fine", "vars": {"q": "plain"}},
                {"id": "odd", "vars": {"q": "x\x00y" if nul_case else "xy"}},
            ],
        }
    )
    with pytest.raises(UserError) as refused:
        await evalbook.arun(suite, store=store)
    message = str(refused.value)
    assert "'nul-suite'" in message and "NUL" in message
    assert ("in case 'odd'" in message) if nul_case else ("outside its cases" in message)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.runs)).scalar() == 0
