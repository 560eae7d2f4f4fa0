"""Site profiles and suites for the browser provider's tests, against the fake chat site."""

from __future__ import annotations

from typing import Any

from evalbook.core.suite import Suite
from evalbook.suites import load_suite_from_dict
from evalbook.testing.chat_site import ChatSite


def profile(site: ChatSite, **over: Any) -> dict[str, Any]:
    """The fake site's profile: a new chat by button, Enter to send, the typing marker."""
    base: dict[str, Any] = {
        "name": "fake-chat",
        "url": site.url,
        "new_chat": "#new-chat",
        "input": "#prompt",
        "response": ".message.assistant",
        "streaming": ".typing",
        "done": {"settle_ms": 150},
        "login_required": "#login-form, .login-required",
        "rate_limited": {"selector": ".rate-limit", "wait_s": 30},
        "timeout_s": 20,
        "max_pages": 2,
        "login": {
            "username": "#username",
            "password": "#password",
            "submit": "#login-button",
            "username_env": "FAKE_CHAT_USER",
            "password_env": "FAKE_CHAT_PASSWORD",
        },
    }
    base.update(over)
    return base


def answers(n: int) -> list[str]:
    """Distinct answers of varied length, punctuation and spacing (no leading or
    trailing whitespace: a page's text has none to keep)."""
    words = ["alpha", "beta,", "gamma;", "delta", "42", "épsilon", "zeta:", "eta", "θ", "(iota)"]
    return [
        f"Answer {i}: " + " ".join(words[(i + k) % len(words)] for k in range(3 + i % 17))
        for i in range(n)
    ]


def browser_suite(
    site: ChatSite,
    n: int,
    *,
    suite_id: str = "browser",
    extra: str = "",
    **profile_over: Any,
) -> Suite:
    """``n`` cases; the site answers each with its expected text, which ``equals`` wants."""
    cases = [
        {"id": f"case-{i:03d}", "vars": {"i": i, "a": a}, "expected": a}
        for i, a in enumerate(answers(n))
    ]
    return load_suite_from_dict(
        {
            "id": suite_id,
            "model": {"provider": "browser", "profile": profile(site, **profile_over)},
            "prompt": "Question {{ i }} [[answer={{ a }}]]" + extra,
            "scorers": [{"equals": "{{ expected }}"}],
            "cases": cases,
        }
    )
