"""A suite file's ``kinds:`` section: cases naming a kind take its messages, scorers,
tag and metadata; a suite's kind shadows a built-in; mistakes name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalbook.errors import SuiteError
from evalbook.prompts.kinds import KINDS
from evalbook.suites.loader import load_suite_from_text

SUITE = """\
id: kinds
kinds:
  echo:
    messages: [{role: user, content: "again: {{ text }}"}]
  borrower_summary:
    system: You are a credit analyst.
    messages: [{role: user, content: "Summarize {{ borrower_name }}"}]
    scorers: [{contains: "{{ borrower_name }}"}]
cases:
  - vars: {_kind: borrower_summary, borrower_name: Budi}
    expected: Budi
  - vars: {_kind: echo, text: hi}
  - vars: {_kind: translate, text: hallo, target: English}
"""


def test_cases_render_through_their_kinds() -> None:
    suite = load_suite_from_text(SUITE)
    budi, echo, translate = suite.cases
    assert [m.role for m in budi.messages or []] == ["system", "user"]
    assert budi.vars == {"borrower_name": "Budi"} and budi.expected == "Budi"
    assert budi.tags == ["kind:borrower_summary"]
    assert budi.metadata == {"kind": "borrower_summary@1", "kind_tier": "standard"}
    assert [s.type for s in budi.scorers] == ["contains"]
    assert (echo.messages or [])[0].content == "again: {{ text }}"  # the suite's own wins
    assert KINDS.get("echo").messages[0].content == "{{ text }}"
    assert "Translate into {{ target }}" in str((translate.messages or [])[-1].content)


def test_mistakes_name_the_line() -> None:
    typo = SUITE.replace("_kind: echo,", "_kind: ecoh,")
    with pytest.raises(SuiteError) as info:
        load_suite_from_text(typo, source="s.yaml")
    assert "s.yaml:12: cases[1].vars._kind" in str(info.value) and "Did you mean 'echo'" in str(
        info.value
    )
    bad = SUITE.replace("    system: You are a credit analyst.\n", "    tier: Fast!\n")
    with pytest.raises(SuiteError, match=r"s.yaml:\d+: kinds.borrower_summary.tier"):
        load_suite_from_text(bad, source="s.yaml")


def test_a_datasets_kind_tier_is_read_from_the_cases_with_metadata(tmp_path: Path) -> None:
    """A run without a model takes the one tier its kinds name; for a dataset only the
    cases with metadata are decoded to find it (a 100k-row dataset without any is not
    decoded at all)."""
    from evalbook.core.suite import CaseList
    from evalbook.executor.launch import kind_tier
    from evalbook.suites import load_suite

    rows = ['{"id": "p' + str(i) + '", "text": "plain"}' for i in range(3)]
    rows.insert(1, '{"id": "k", "_kind": "borrower_summary", "borrower_name": "Budi"}')
    (tmp_path / "cases.jsonl").write_text("\n".join(rows) + "\n")
    head = SUITE.split("cases:")[0].replace("id: kinds\n", "id: kinds-data\nprompt: '{{ text }}'\n")
    (tmp_path / "s.yaml").write_text(head + "cases:\n  - file: cases.jsonl\n")
    suite = load_suite(tmp_path / "s.yaml")
    assert isinstance(suite.cases, CaseList)
    assert [c.id for c in suite.cases.with_metadata()] == ["k"]
    assert kind_tier(suite) == "standard"
    (tmp_path / "cases.jsonl").write_text("\n".join(r for r in rows if '"k"' not in r) + "\n")
    plain = load_suite(tmp_path / "s.yaml")
    assert isinstance(plain.cases, CaseList)
    assert list(plain.cases.with_metadata()) == [] and kind_tier(plain) is None
