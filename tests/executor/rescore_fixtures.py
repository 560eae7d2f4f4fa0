"""Systems under test and judges for the rescore tests, as ``python:`` functions."""

from __future__ import annotations

import asyncio
from typing import Any

#: Every call of :func:`answer`, so a test can prove re-scoring asked no model.
CALLS: list[str] = []


def answer(vars: dict[str, Any]) -> str:
    """Answers the case's ``reply``; raises (the case errors) when it has ``boom``."""
    CALLS.append(str(vars.get("reply")))
    if vars.get("boom"):
        raise ValueError("the system under test fell over")
    return str(vars["reply"])


async def slow_judge(prompt: str) -> str:
    """A judge that takes its time (for cancellation), then grades 8."""
    await asyncio.sleep(0.05)
    return "Fine.\nGRADE: 8"
