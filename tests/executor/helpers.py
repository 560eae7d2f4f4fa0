"""Suites for executor tests, answered deterministically by the local test server."""

from __future__ import annotations

from typing import Any

from evalbook.core.suite import Suite
from evalbook.suites import load_suite_from_dict
from evalbook.testing import content_key


def server_model(base_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "provider": "openai-compatible",
        "name": "test-model",
        "base_url": base_url,
        "temperature": 0,
        "max_tokens": 16,
        **extra,
    }


def yes_no_suite(
    n: int,
    base_url: str,
    *,
    every: int = 3,
    model: dict[str, Any] | None = None,
    suite_id: str = "yes-no",
    prompt: str | None = None,
) -> Suite:
    """``n`` cases; the server answers ``yes`` for every ``every``-th case, else ``no``; the
    scorer wants ``yes``. The expected score is therefore exactly ceil(n / every) / n."""
    cases = [
        {
            "id": f"case-{i:05d}",
            "vars": {"i": i, "answer": "yes" if i % every == 0 else "no"},
            "section": "first-half" if i < n // 2 else "second-half",
        }
        for i in range(n)
    ]
    return load_suite_from_dict(
        {
            "id": suite_id,
            "name": suite_id,
            "threshold": 0.5,
            "model": model or server_model(base_url),
            "prompt": prompt or "[[answer={{ answer }}]] question {{ i }}",
            "scorers": [{"equals": "yes"}],
            "cases": cases,
        }
    )


def expected_yes(n: int, every: int = 3) -> int:
    return len([i for i in range(n) if i % every == 0])


def server_key(prompt: str) -> str:
    """The test server's identity of a one-message chat request with ``prompt``."""
    return content_key("/v1/chat/completions", "test-model", [{"role": "user", "content": prompt}])
