"""is-sql, is-html, is-xml: well-formedness, hand-checked cases and the safety rules."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.sql import split_statements


def run(raw: Any, output: str | None) -> ScoreOutcome:
    outcome = build_scorer(parse_scorer_spec(raw)).score(
        ScoreContext(output=output, case=Case(id="c"))
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


@pytest.mark.parametrize(
    ("output", "passed", "why"),
    [
        # Unknown tables, columns and functions need a schema: well-formed all the same.
        ("SELECT name FROM users WHERE id = 1", True, "no such table: users"),
        ("SELECT * FROM a JOIN b ON a.id = b.id GROUP BY x HAVING count(*) > 1", True, ""),
        ("select a from t where a in (select b from u where c = 'x;y')", True, ""),
        ("WITH x AS (SELECT 1 AS n) SELECT n FROM x;", True, ""),
        ("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)", True, ""),
        ("INSERT INTO t (a, b) VALUES (1, 'ünïcödé 日本')", True, ""),
        ("UPDATE t SET a = ? WHERE b = :name", True, ""),  # placeholders
        ("SELECT 1 UNION SELECT 1, 2", True, "UNION"),  # semantic, not syntax
        ("```sql\nSELECT 1;\n```", True, ""),
        ("SELECT 1 -- trailing comment", True, ""),
        ("SELEC a FROM t", False, 'near "SELEC": syntax error'),
        ("SELECT * FROM t WHERE", False, "incomplete input"),
        ("SELECT 'unterminated", False, "unrecognized token"),
        ("SELECT x::int FROM t", False, "unrecognized token"),  # PostgreSQL syntax
        ("SELECT 1; SELECT 2;", False, "2 statements; set multiple: true"),
        ("The answer is SELECT 1", False, "syntax error"),
        ("-- just a comment", False, "no SQL statement"),
        ("", False, "output is empty"),
        (None, False, "output is empty"),
    ],
)
def test_is_sql(output: str | None, passed: bool, why: str) -> None:
    outcome = run("is-sql", output)
    assert outcome.passed is passed
    assert why in (outcome.rationale or "")


def test_is_sql_multiple() -> None:
    many = "CREATE TABLE t (a);\nINSERT INTO t VALUES (';');\nSELECT a FROM t;"
    assert run({"is-sql": {"multiple": True}}, many).passed
    broken = "SELECT 1;\nSELEC 2;"
    outcome = run({"is-sql": {"multiple": True}}, broken)
    assert not outcome.passed and "statement 2" in (outcome.rationale or "")


def test_split_statements_knows_strings_and_comments() -> None:
    text = "SELECT ';' ; /* ; */ SELECT 2; -- ;\n SELECT 3"
    assert split_statements(text) == ["SELECT ';' ;", "/* ; */ SELECT 2;", "-- ;\n SELECT 3"]


def test_is_sql_never_touches_files(tmp_path: Path) -> None:
    target = tmp_path / "x.db"
    for sql in (f"ATTACH DATABASE '{target}' AS x", "PRAGMA journal_mode = WAL"):
        outcome = run("is-sql", sql)
        assert outcome.passed and "not authorized" in (outcome.rationale or "")
    assert not target.exists()


def test_is_sql_from_several_threads() -> None:
    scorer = build_scorer(parse_scorer_spec("is-sql"))
    results: list[bool | None] = []

    def work() -> None:
        for _ in range(50):
            out = scorer.score(ScoreContext(output="SELECT a FROM t", case=Case(id="c")))
            assert isinstance(out, ScoreOutcome)
            results.append(out.passed)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 200


@pytest.mark.parametrize(
    ("output", "passed", "why"),
    [
        ("<div><p>Hello <b>world</b></p></div>", True, ""),
        ("<p>one<p>two", True, ""),  # optional end tags
        ("<ul><li>a<li>b</ul>", True, ""),
        ("<table><tr><td>1<td>2</table>", True, ""),
        ("<br><img src='x.png' alt=\"日本\"><hr/>", True, ""),
        ("<svg><path d='M0 0'/></svg>", True, ""),
        ("<!DOCTYPE html><html><head><title>t</title></head><body></body></html>", True, ""),
        ("<script>if (a < b) { x = '</div>'; }</script>", True, ""),
        ("<div><!-- </span> --></div>", True, ""),
        ("<DIV>case</div>", True, ""),
        ("```html\n<p>fenced</p>\n```", True, ""),
        ("<p>caf&eacute; &amp; 1 &lt; 2</p>", True, ""),
        ("<div><span>x</div></span>", False, "</div> closes <div> while <span> inside it is open"),
        ("<div>open", False, "<div> is never closed"),
        ("<div><b>x</b>", False, "<div> is never closed"),
        ("</p>", False, "stray end tag </p>"),
        ("<div></span></div>", False, "stray end tag </span>"),
        ("<br></br>", False, "void element"),
        ('<a href="x">y</a', False, "unterminated tag '</a'"),
        ("<div", False, "unterminated tag '<div'"),
        ("just text, 1 < 2 and 3 > 2", False, "no HTML element"),
        ("", False, "output is empty"),
        (None, False, "output is empty"),
    ],
)
def test_is_html(output: str | None, passed: bool, why: str) -> None:
    outcome = run("is-html", output)
    assert outcome.passed is passed, outcome
    assert why in (outcome.rationale or "")


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<foo>&xxe;</foo>"""


@pytest.mark.parametrize(
    ("output", "passed", "why"),
    [
        ("<a><b x='1'>text</b><c/></a>", True, ""),
        ('<?xml version="1.0" encoding="UTF-8"?>\n<root>日本語 &amp; ünï</root>', True, ""),
        ('<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>', True, ""),
        ("<a><![CDATA[ <not> & parsed ]]></a>", True, ""),
        ("<!DOCTYPE note SYSTEM 'note.dtd'><note/>", True, ""),  # never fetched
        ("```xml\n<a/>\n```", True, ""),
        ("<a><b></a></b>", False, "mismatched tag at line 1 column 9"),
        ("<a/><b/>", False, "junk after document element"),
        ("<a x=1/>", False, "not well-formed"),
        ("<a>&undefined;</a>", False, "undefined entity"),
        ("<a>", False, "no element found"),
        ("Here is XML: <a/>", False, "syntax error"),
        (BILLION_LAUGHS, False, "entity declarations are not allowed"),
        (XXE, False, "entity declarations are not allowed"),
        ("", False, "output is empty"),
        (None, False, "output is empty"),
    ],
)
def test_is_xml(output: str | None, passed: bool, why: str) -> None:
    outcome = run("is-xml", output)
    assert outcome.passed is passed, outcome
    assert why in (outcome.rationale or "")
