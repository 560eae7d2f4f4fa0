"""A suite's definition text is made once, and its cases are then kept in it (not also
each in a string of their own): the text, the hash and every case read back must be
exactly what they were (the suite hash is taken of the text, and stored suites are
found by it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from evalbook.core.identity import canonical_json
from evalbook.core.messages import Message
from evalbook.core.model_config import parse_model_spec
from evalbook.core.suite import Case, CaseList, Prompt, PromptVersion, Suite, case_json
from evalbook.storage import definitions
from evalbook.storage import tables as t
from evalbook.storage.definitions import utf8_length
from evalbook.storage.store import Store
from evalbook.suites import load_suite

ROWS: list[dict[str, Any]] = [
    {"id": "a", "q": "2+2?", "expected": "4"},
    {"id": "b", "q": "x", "metadata": {"tier": "fast"}, "tags": ["t"]},
    {"id": "c", "q": "y", "expected": {"z": [1, 2.5, None]}},
]


def _suite(cases: CaseList, suite_id: str = "s") -> Suite:
    prompt = Prompt(
        name="p",
        versions=[PromptVersion(version=1, messages=[Message(role="user", content="{{ q }}")])],
    )
    return Suite(id=suite_id, name="n", prompt=prompt, cases=cases, tags=["z"])


def _case_list(rows: list[dict[str, Any]]) -> CaseList:
    cases = CaseList()
    for row in rows:
        cases.append(Case.model_validate(_case_fields(row)), from_row=True)
    return cases


def _case_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = {"id", "expected", "metadata", "tags"}
    return {
        **{k: v for k, v in row.items() if k in fields},
        "vars": {k: v for k, v in row.items() if k not in fields},
    }


def _dumped_text(suite: Suite) -> str:
    """The definition's canonical JSON the slow way: every case dumped to a dict."""
    return canonical_json(suite.definition())


@pytest.mark.parametrize("rows", [ROWS, [*ROWS, {"id": "é", "q": "non-ASCII ✓ 😀"}], []])
def test_the_definition_text_is_the_dumped_definition_and_keeps_the_cases(
    rows: list[dict[str, Any]],
) -> None:
    suite = _suite(_case_list(rows))
    expected = [Case.model_validate(_case_fields(r)) for r in rows]
    dumped = _dumped_text(suite)
    hash_before = suite.hash
    assert hash_before == Suite.hash_of(json.loads(dumped))

    text = suite.definition_json()
    assert text == dumped
    assert suite.definition_json() is text or not text.isascii()  # made once when kept
    # the cases, read from the text now, are the same cases, every way they are read
    assert list(suite.cases) == expected
    assert list(suite.cases.canonical()) == [case_json(c) for c in expected]
    if expected:
        assert suite.cases[-1] == expected[-1]
        assert suite.cases[0:2] == expected[0:2]
        with pytest.raises(IndexError):
            suite.cases[len(expected)]
    assert [c.id for c in suite.cases.with_metadata()] == [
        r["id"] for r in rows if r.get("metadata")
    ]
    assert suite.hash == hash_before
    assert _dumped_text(suite) == text


def test_a_case_added_after_the_text_was_made_is_kept_and_the_text_made_anew() -> None:
    cases = _case_list(ROWS)
    suite = _suite(cases)
    first = suite.definition_json()
    cases.append(Case(id="d", vars={"q": "later"}))
    assert len(cases) == 4
    assert cases[3] == Case(id="d", vars={"q": "later"})
    assert cases[0] == Case.model_validate(_case_fields(ROWS[0]))
    again = suite.definition_json()
    assert again != first
    assert again == _dumped_text(suite)


def test_inline_cases_kept_as_written_give_the_same_text() -> None:
    cases = CaseList()
    cases.append(Case(id="inline", vars={"q": "kept"}), compact=False)
    cases.append(Case.model_validate(_case_fields(ROWS[1])), from_row=True)
    suite = _suite(cases)
    assert suite.definition_json() == _dumped_text(suite)
    assert suite.hash == Suite.hash_of(suite.definition())
    assert cases[0] == Case(id="inline", vars={"q": "kept"})


def test_two_suites_sharing_cases_each_get_their_own_text() -> None:
    cases = _case_list(ROWS)
    one, other = _suite(cases, "one"), _suite(cases, "other")
    assert one.definition_json() == _dumped_text(one)
    assert other.definition_json() == _dumped_text(other)
    assert one.definition_json() == _dumped_text(one)
    assert list(cases) == [Case.model_validate(_case_fields(r)) for r in ROWS]


def test_the_recorded_definition_is_the_text_the_hash_is_taken_of(
    db_url: str, tmp_path: Path
) -> None:
    """A dataset suite as a run records it: the stored definition is the dumped
    definition's text, byte for byte, and the suite read back has the same hash."""
    lines = [json.dumps({"id": f"c{i}", "q": f"question {i} é" if i == 3 else f"q{i}",
                         "expected": "yes"}) for i in range(50)]  # fmt: skip
    (tmp_path / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "suite.yaml").write_text(
        "id: recorded\nprompt: '{{ q }}'\nscorers: [{equals: yes}]\ncases:\n  - file: cases.jsonl\n"
    )
    suite = load_suite(tmp_path / "suite.yaml")
    dumped = _dumped_text(suite)
    store = Store.open(db_url)
    try:
        suite_hash = store.save_definitions(
            suite, suite.prompt.name, suite.prompt.latest,
            parse_model_spec("openai-compatible:m"), workspace_id="default",
        )  # fmt: skip
        assert suite_hash == Suite.hash_of(json.loads(dumped))
        with store.engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.cast(t.suites.c.definition, sa.Text)).where(
                    t.suites.c.hash == suite_hash
                )
            ).scalar_one()
        assert json.loads(stored) == json.loads(dumped)
        if store.dialect == "sqlite":  # PostgreSQL's JSONB keeps the value, not the text
            assert stored == dumped
        assert store.get_suite(suite_hash).hash == suite_hash
        assert list(suite.cases) == list(load_suite(tmp_path / "suite.yaml").cases)
    finally:
        store.close()


@pytest.mark.parametrize("text", ["", "ascii only", "é" * (1 << 20) + "😀✓" * 3 + "x"])
def test_a_definitions_size_is_counted_as_its_utf8_bytes(text: str) -> None:
    assert utf8_length(text) == len(text.encode("utf-8"))


def test_a_big_definition_closes_the_connection_that_wrote_it(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver keeps what it last sent while its connection lives (a big suite's
    whole text): the connection that wrote a big definition is closed when its
    transaction ends; a small one's is kept. Either way the suite is recorded and the
    store goes on working."""
    store = Store.open(db_url)
    model = parse_model_spec("openai-compatible:m")
    writers: list[Any] = []

    def seen(conn: sa.Connection, _c: Any, statement: str, *_: Any) -> None:
        if "INSERT INTO suites" in statement:
            writers.append(conn.connection.dbapi_connection)

    sa.event.listen(store.engine, "before_cursor_execute", seen)
    try:

        def closed_after_save(suite_id: str) -> bool:
            suite = _suite(_case_list(ROWS), suite_id)
            suite_hash = store.save_definitions(
                suite, "p", suite.prompt.latest, model, workspace_id="default"
            )
            assert store.get_suite(suite_hash).hash == suite_hash == suite.hash
            try:
                writers[-1].cursor().execute("SELECT 1")
            except Exception:  # sqlite3's ProgrammingError, psycopg's OperationalError
                return True
            return False

        assert not closed_after_save("small")
        monkeypatch.setattr(definitions, "DETACH_CHARS", 1)
        assert closed_after_save("big")
        assert closed_after_save("after")  # a new connection, closed in turn
        assert len(writers) == 3
    finally:
        store.close()


def test_an_inline_case_is_dumped_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader dumps an inline case to check it encodes; the hash and the definition
    read that JSON, never dumping the case again (a third of posting a big suite)."""
    from evalbook.core import suite as suite_module
    from evalbook.suites import load_suite_from_dict

    dumped: list[str] = []
    real = suite_module.case_json

    def counted(case: Case) -> str:
        dumped.append(case.id)
        return real(case)

    monkeypatch.setattr(suite_module, "case_json", counted)
    suite = load_suite_from_dict(
        {
            "id": "inline",
            "prompt": "{{ q }}",
            "cases": [{"id": i, "vars": {"q": f"{i} ✓"}} for i in ("a", "b", "c")],
        }
    )
    assert sorted(dumped) == ["a", "b", "c"]
    dumped.clear()
    first = suite.hash
    text = suite.definition_json()
    assert suite.hash == first and dumped == []
    assert [c.id for c in suite.cases] == ["a", "b", "c"]
    monkeypatch.undo()
    assert text == _dumped_text(suite) and first == Suite.hash_of(suite.definition())
