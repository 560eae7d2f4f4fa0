"""A page's failures in evalbook's retry classes, like an HTTP API's.

- a login wall: :class:`AuthError`, fatal for the run (like a refused API key) — a run of
  1,000 cases must not try 1,000 times against a logged-out page;
- a rate-limit banner (or HTTP 429): :class:`RateLimitError`, waiting what the site says;
- navigation errors, timeouts, a reload mid-answer, a crashed page, HTTP 5xx:
  :class:`TransientError`, retried with backoff;
- a selector that matches nothing: a :class:`~evalbook.errors.ConfigError` naming it
  (raised where it is found, in the session).
"""

from __future__ import annotations

from collections.abc import Mapping

from evalbook.errors import AuthError, ProviderError, RateLimitError, TransientError
from evalbook.providers.browser.profile import BrowserProfile
from evalbook.providers.http_errors import parse_retry_after

__all__ = ["login_error", "page_error", "rate_limit_error", "status_error"]


def login_error(profile: BrowserProfile, banner: str) -> AuthError:
    shown = f" ({banner.strip()[:120]!r})" if banner.strip() else ""
    return AuthError(
        f"browser {profile.display_name}: the site asks to log in (selector"
        f" {profile.login_required!r} is on the page{shown}); run `evalbook browser login"
        " PROFILE` to save a session, then resume the run",
        status_code=401,
    )


def rate_limit_error(profile: BrowserProfile, banner: str) -> RateLimitError:
    rule = profile.rate_limited
    wait = rule.wait_from(banner) if rule is not None else 60.0
    return RateLimitError(
        f"browser {profile.display_name}: the site is rate limiting"
        f" ({banner.strip()[:120]!r}); waiting {wait:g} s",
        status_code=429,
        retry_after=wait,
    )


def status_error(profile: BrowserProfile, status: int, headers: Mapping[str, str]) -> ProviderError:
    """The page itself answered with an HTTP error (and no login wall or banner)."""
    text = f"browser {profile.display_name}: {profile.url} answered HTTP {status}"
    if status == 429:
        wait = parse_retry_after(headers)
        if wait is None and profile.rate_limited is not None:
            wait = profile.rate_limited.wait_s
        return RateLimitError(text, status_code=status, retry_after=wait)
    if status in (401, 403):
        return AuthError(
            f"{text}; run `evalbook browser login PROFILE` to save a session", status_code=status
        )
    return TransientError(text, status_code=status)


def page_error(exc: Exception, profile: BrowserProfile) -> ProviderError:
    """A Playwright error (navigation, timeout, closed page) as a transient failure."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    name = type(exc).__name__
    if name == "TimeoutError":
        what = f"timed out: {message}"
    elif "net::" in message or "NS_ERROR" in message:
        what = f"navigation failed: {message}"
    elif "context was destroyed" in message or "navigat" in message:
        what = f"the page navigated away mid-answer: {message}"
    elif "closed" in message.lower() or "crash" in message.lower():
        what = f"the page or browser closed: {message}"
    else:
        what = f"{name}: {message}"
    return TransientError(f"browser {profile.display_name}: {what[:1000]}")
