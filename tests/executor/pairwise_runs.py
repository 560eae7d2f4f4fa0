"""Two runs to judge pairwise, and pairwise judges as functions (``python:`` provider)."""

from __future__ import annotations

import re
from typing import Any

import evalbook
from evalbook.core.run import RunRecord
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

FIX = "python:tests.scorers.judge_fixtures"
HERE = "python:tests.executor.pairwise_runs"

_PAIR = re.compile(r"<<<A\n(.*?)\nA>>>.*?<<<B\n(.*?)\nB>>>", re.DOTALL)

#: Every prompt :func:`counting_judge` was asked (cleared by the tests that read it).
CALLS: list[str] = []


async def make_run(store: Store, replies: dict[str, str | None], **case: Any) -> RunRecord:
    """A run whose answer to case ``id`` is ``replies[id]``; ``None`` makes that case error
    (the system under test raises)."""
    cases = [
        {
            "id": case_id,
            "vars": {"question": f"capital of France? ({case_id})"}
            | ({} if reply is None else {"reply": reply}),
            **case,
        }
        for case_id, reply in replies.items()
    ]
    suite = load_suite_from_dict(
        {
            "id": "paired",
            "name": "paired",
            "model": {"provider": "python", "name": "tests.scorers.judge_fixtures:reply"},
            "prompt": "Answer: {{ question }}",
            "cases": cases,
        }
    )
    return await evalbook.arun(suite, store=store, use_cache=False)


def counting_judge(prompt: str) -> str:
    """Prefers the answer that says Paris (like ``fair_pair_judge``) and logs every call."""
    CALLS.append(prompt)
    match = _PAIR.search(prompt)
    assert match, prompt
    a, b = ("Paris" in match.group(1)), ("Paris" in match.group(2))
    return f"VERDICT: {'TIE' if a == b else ('A' if a else 'B')}"


def mute_pair_judge(prompt: str) -> str:
    """Reads both answers, then gives no verdict at all."""
    assert _PAIR.search(prompt), prompt
    return "Both answers have merit; I would rather not say."


def reference_judge(prompt: str) -> str:
    """Says which answer matches the reference it was shown (tie when it saw none)."""
    match = _PAIR.search(prompt)
    reference = re.search(r"\[Reference answer\]\n(.*?)\n", prompt)
    assert match, prompt
    if reference is None:
        return "VERDICT: TIE"
    a, b = (reference.group(1) in match.group(1)), (reference.group(1) in match.group(2))
    return f"VERDICT: {'TIE' if a == b else ('A' if a else 'B')}"


def priced_judge(prompt: str) -> dict[str, Any]:
    """A tie, reporting 10 input and 2 output tokens (priced by the judge's config)."""
    assert _PAIR.search(prompt), prompt
    return {"output": "VERDICT: TIE", "input_tokens": 10, "output_tokens": 2}
