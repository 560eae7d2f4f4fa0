"""A big dataset suite's definition is written in pieces (PostgreSQL: COPY; SQLite: a
blank TEXT written in place through a blob handle, the cases set aside in a file
meanwhile). What is recorded must be what the whole text's INSERT records, every hash
the same, and the suite's cases the same cases afterwards."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from evalbook.core.model_config import parse_model_spec
from evalbook.core.suite import Case, Suite
from evalbook.errors import UserError
from evalbook.storage import definition_stream, definitions
from evalbook.storage import tables as t
from evalbook.storage.store import Store
from evalbook.suites import load_suite
from tests.core.test_suite_definition_text import (
    ROWS,
    _case_fields,
    _case_list,
    _dumped_text,
    _suite,
)

MODEL = parse_model_spec("openai-compatible:m")
#: Values COPY's text format escapes, JSON escapes, and characters of several UTF-8 bytes.
ODD = 'tab\there, back\\slash, "quoted", new\nline, cr\r, é ✓ 😀 \u2028'


def _dataset_suite(folder: Path, odd: str = ODD) -> Suite:
    lines = [
        json.dumps({"id": f"c{i}", "q": odd if i % 7 == 3 else f"q{i}", "expected": "yes"})
        for i in range(40)
    ]
    (folder / "cases.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "suite.yaml").write_text(
        "id: streamed\nprompt: '{{ q }}'\nscorers: [{equals: yes}]\ncases:\n  - file: cases.jsonl\n"
    )
    return load_suite(folder / "suite.yaml")


@pytest.fixture
def streamed(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every definition streams; what each write_streamed answered (True: written)."""
    monkeypatch.setattr(definition_stream, "STREAM_BYTES", 1)
    answers: list[bool] = []
    real = definitions.write_streamed

    def spy(*args: Any) -> bool:
        answers.append(real(*args))
        return answers[-1]

    monkeypatch.setattr(definitions, "write_streamed", spy)
    return answers


def _stored(store: Store, suite_hash: str) -> tuple[str, bool]:
    """The stored definition as text, and whether it equals ``suite``'s (on PostgreSQL
    compared as jsonb: JSONB keeps the value, not the text)."""
    with store.engine.connect() as conn:
        text = conn.execute(
            sa.select(sa.cast(t.suites.c.definition, sa.Text)).where(t.suites.c.hash == suite_hash)
        ).scalar_one()
        if store.dialect == "sqlite":
            kind = conn.exec_driver_sql(
                "SELECT typeof(definition) FROM suites WHERE hash = ?", (suite_hash,)
            ).scalar_one()
            return text, kind == "text"
    return text, True


@pytest.mark.parametrize(("text_first", "ascii"), [(False, False), (True, False), (True, True)])
def test_a_streamed_definition_is_the_text_the_hash_is_taken_of(
    db_url: str, tmp_path: Path, streamed: list[bool], text_first: bool, ascii: bool
) -> None:
    """Written in pieces (from the cases' buffer, or from a text already made): stored as
    the whole text's INSERT stores it, read back with the same hash, the cases intact."""
    suite = _dataset_suite(tmp_path, ODD.encode("ascii", "ignore").decode() if ascii else ODD)
    dumped = _dumped_text(suite)
    hash_before = suite.hash
    if text_first:
        assert suite.definition_json() == dumped
    expected_cases = list(load_suite(tmp_path / "suite.yaml").cases)
    store = Store.open(db_url)
    try:
        suite_hash = store.save_definitions(
            suite, suite.prompt.name, suite.prompt.latest, MODEL, workspace_id="default"
        )
        # SQLite writes the cases' buffer only; an ASCII text made holds the cases instead
        # (and is written by the INSERT)
        assert streamed == [store.dialect == "postgresql" or not (text_first and ascii)]
        assert suite_hash == hash_before == Suite.hash_of(json.loads(dumped)) == suite.hash
        text, is_text = _stored(store, suite_hash)
        assert is_text and json.loads(text) == json.loads(dumped)
        if store.dialect == "sqlite":
            assert text == dumped
        else:
            with store.engine.connect() as conn:
                same = sa.select(
                    t.suites.c.definition == sa.cast(sa.literal(dumped), t.suites.c.definition.type)
                ).where(t.suites.c.hash == suite_hash)
                assert conn.execute(same).scalar_one() is True
        assert store.get_suite(suite_hash).hash == suite_hash
        assert list(suite.cases) == expected_cases  # taken back whole
        assert suite.definition_json() == dumped
        # recorded already: nothing written again
        again = store.save_definitions(
            suite, suite.prompt.name, suite.prompt.latest, MODEL, workspace_id="default"
        )
        assert again == suite_hash and len(streamed) == 1
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.suites)).scalar() == 1
    finally:
        store.close()


def test_a_suite_recorded_meanwhile_is_kept_as_it_is(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another writer recorded the same suite between the check and the write (the row
    exists): the pieces write nothing, the transaction goes on (PostgreSQL: the COPY's
    savepoint is rolled back) and the cases are intact."""
    monkeypatch.setattr(definition_stream, "STREAM_BYTES", 1)
    suite = _dataset_suite(tmp_path)
    dumped = _dumped_text(suite)
    store = Store.open(db_url)
    try:
        suite_hash = store.save_definitions(
            suite, suite.prompt.name, suite.prompt.latest, MODEL, workspace_id="default"
        )
        row = {
            "hash": suite_hash, "suite_id": "other", "name": "other", "version": "9",
            "source": None, "case_count": 1, "created_at": datetime.now(UTC),
        }  # fmt: skip
        with store.write() as conn:
            size = definition_stream.streamed_size(suite)
            assert size is not None
            assert definition_stream.write_streamed(conn, suite, row, size)
            conn.execute(sa.select(1)).scalar_one()  # the transaction is still usable
        with store.engine.connect() as conn:
            kept = conn.execute(sa.select(t.suites.c.suite_id)).scalars().all()
        assert kept == [suite.id]
        assert json.loads(_stored(store, suite_hash)[0]) == json.loads(dumped)
        assert suite.definition_json() == dumped and suite.hash == suite_hash
    finally:
        store.close()


def test_a_streamed_suite_with_a_nul_or_over_the_limit_is_refused_as_before(
    db_url: str, tmp_path: Path, streamed: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What may be a NUL, or a definition over the limit, is not streamed: the whole text
    is checked and the suite refused naming the case, nothing recorded."""
    suite = _dataset_suite(tmp_path)
    (tmp_path / "nul").mkdir()
    _dataset_suite(tmp_path / "nul")
    with open(tmp_path / "nul" / "cases.jsonl", "a") as fh:
        fh.write('{"id": "bad", "q": "x\\u0000y"}\n')
    with_nul = load_suite(tmp_path / "nul" / "suite.yaml")
    assert definition_stream.streamed_size(with_nul) is None
    store = Store.open(db_url)
    try:
        with pytest.raises(UserError, match="in case 'bad'"):
            store.save_definitions(
                with_nul, "p", with_nul.prompt.latest, MODEL, workspace_id="default"
            )
        monkeypatch.setenv("EVALBOOK_MAX_SUITE_BYTES", "200")
        assert definition_stream.streamed_size(suite) is None
        with pytest.raises(UserError, match="EVALBOOK_MAX_SUITE_BYTES"):
            store.save_definitions(suite, "p", suite.prompt.latest, MODEL, workspace_id="default")
        with store.engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(t.suites)).scalar() == 0
        assert streamed == []
    finally:
        store.close()


@pytest.mark.parametrize("text_first", [False, True])
def test_cases_set_aside_and_taken_back_are_the_same_cases(text_first: bool) -> None:
    rows = [*ROWS, {"id": "é", "q": "non-ASCII ✓ 😀"}]
    cases = _case_list(rows)
    suite = _suite(cases)
    dumped, suite_hash = _dumped_text(suite), suite.hash
    if text_first:
        suite.definition_json()
    spill = io.BytesIO()
    cases.set_aside(spill)
    cases.take_back(spill)
    assert list(cases) == [Case.model_validate(_case_fields(r)) for r in rows]
    assert suite.definition_json() == dumped and suite.hash == suite_hash
    spill.truncate(3)
    with pytest.raises(OSError):
        cases.take_back(spill)
    assert suite.definition_json() == dumped  # a short read keeps nothing of it


def test_inline_cases_are_set_aside_with_the_rest() -> None:
    """An inline case keeps its JSON beside it: the buffer set aside holds every case, the
    inline one is still read as it was written, and the definition is the same."""
    cases = _case_list(ROWS)
    inline = Case(id="inline", vars={"q": "x ✓"})
    cases.append(inline, compact=False)
    suite = _suite(cases)
    dumped, suite_hash = _dumped_text(suite), suite.hash
    spill = io.BytesIO()
    cases.set_aside(spill)
    assert spill.getvalue().count(b'"id":"inline"') == 1
    assert cases[len(ROWS)] is inline  # read as it is, the buffer set aside
    cases.take_back(spill)
    assert list(cases)[-1] is inline and len(list(cases)) == len(ROWS) + 1
    assert suite.definition_json() == dumped and suite.hash == suite_hash
