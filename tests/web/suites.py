"""Suites the browser tests run against the local test server (its prompt directives
choose each answer, latency and fault)."""

from __future__ import annotations

from typing import Any


def board_suite(suite_id: str = "board", n: int = 12, latency_ms: int = 120) -> dict[str, Any]:
    """``n`` cases: most pass, ``c3`` fails (wrong answer), ``c5`` errors (HTTP 400: a
    request the endpoint refuses, never retried; a 500 would be retried until it passes)."""
    cases = []
    for i in range(n):
        answer = "wrong" if i == 3 else "yes"
        fault = "[[fail=400:99]]" if i == 5 else ""
        cases.append(
            {
                "id": f"c{i}",
                "vars": {"q": f"question {i} [[answer={answer}]][[latency={latency_ms}]]{fault}"},
                "expected": "yes",
            }
        )
    return {
        "id": suite_id,
        "name": "Board suite",
        "version": "1",
        "threshold": 0.5,
        "prompt": {"name": f"{suite_id}-prompt", "versions": {1: {"template": "{{ q }}"}}},
        "scorers": [{"equals": "{{ expected }}"}],
        "cases": cases,
    }


HOSTILE = [
    "<script>window.pwned = 1</script>",
    '<a href="javascript:window.pwned=2">click</a>',
    '<img src=x onerror="window.pwned=3">',
    "</textarea></p><svg onload=window.pwned=4>",
]


def hostile_suite(big: int = 990_000) -> dict[str, Any]:
    # ``big``: an answer of about 1 MB whose prompt stays under the 1,000,000-character cap.
    cases = [
        {"id": f"h{i}", "vars": {"q": f"[[answer={text}]][[latency=300]]"}, "expected": "safe"}
        for i, text in enumerate(HOSTILE)
    ]
    cases.append(
        {"id": "big", "vars": {"q": "[[answer=" + "A<b>" * (big // 4) + "]]"}, "expected": "x"}
    )
    return {
        "id": "hostile",
        "name": "<script>window.pwned=5</script> suite",
        "version": "1",
        "prompt": {"name": "hostile-prompt", "versions": {1: {"template": "{{ q }}"}}},
        "scorers": [{"equals": "{{ expected }}"}],
        "cases": cases,
    }
