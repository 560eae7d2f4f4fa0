"""Classified retries: every attempt is logged, and only what can succeed is retried.

- rate limit (429): wait the server's ``Retry-After`` when given, else back off;
- transient (5xx, timeout, reset connection, malformed reply): exponential backoff with
  full jitter;
- fatal (auth, request validation): fail the item at once — a bad API key must not cost
  a thousand retries.

Retryable failures are bounded by a time budget per call (``budget_s``, ten minutes by
default: a provider that rate-limits a third of the requests for a while costs time, not
cases), not by a small count; a count (``max_attempts``) can still be set. Waiting uses
tenacity's wait strategies; ``RetryPolicy.scale`` multiplies every wait so tests run with
zero waits (``EVALBOOK_RETRY_SCALE=0``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from evalbook.core.result import Attempt
from evalbook.core.trusted import built
from evalbook.errors import ProviderError, RateLimitError, TransientError

T = TypeVar("T")


#: Attempts when no count is set and waits are zero (tests): a bound, not a policy.
ATTEMPTS_CEILING = 1000
DEFAULT_BUDGET_S = 600.0


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int | None = None
    budget_s: float = DEFAULT_BUDGET_S
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_retry_after_s: float = 120.0
    scale: float = 1.0

    @classmethod
    def from_env(
        cls, max_attempts: int | None = None, budget_s: float = DEFAULT_BUDGET_S
    ) -> RetryPolicy:
        scale = float(os.environ.get("EVALBOOK_RETRY_SCALE", "1") or 1)
        return cls(max_attempts=max_attempts, budget_s=budget_s, scale=scale)

    def give_up(self, number: int, spent_s: float, wait_s: float) -> str | None:
        """Why not to try again after attempt ``number`` (``None``: try again)."""
        if self.max_attempts is not None and number >= self.max_attempts:
            return f"{number} attempt(s), the most allowed (--max-attempts)"
        if number >= ATTEMPTS_CEILING:
            return f"{number} attempts"
        if spent_s + wait_s > self.budget_s:
            return (
                f"{number} attempt(s) in {spent_s:.0f} s; waiting {wait_s:.0f} s more would"
                f" pass the retry budget of {self.budget_s:g} s (--retry-budget)"
            )
        return None

    def delay(self, attempt_number: int, error: ProviderError) -> float:
        if isinstance(error, RateLimitError) and error.retry_after is not None:
            return min(error.retry_after, self.max_retry_after_s) * self.scale
        from tenacity import wait_random_exponential  # loaded at the first retry, not start-up

        wait = wait_random_exponential(multiplier=self.base_delay_s, max=self.max_delay_s)
        return float(wait(_RetryState(attempt_number))) * self.scale  # type: ignore[arg-type]


class _RetryState:
    """The one attribute of tenacity's RetryCallState that its wait strategies read."""

    def __init__(self, attempt_number: int) -> None:
        self.attempt_number = attempt_number


class AttemptsFailed(Exception):
    """All attempts failed (or one failed fatally); carries every attempt."""

    def __init__(
        self, error: BaseException, attempts: list[Attempt], why: str | None = None
    ) -> None:
        self.error = error
        self.attempts = attempts
        #: Why retrying stopped, when it was retryable (budget, count, run stopping).
        self.why = why
        super().__init__(str(error))


def _outcome(error: BaseException) -> str:
    if isinstance(error, ProviderError):
        if isinstance(error, TransientError) and "timed out" in str(error):
            return "timeout"
        return error.kind
    return "error"


async def call_with_retries(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    timeout_s: float | None = None,
    stopping: Callable[[], str | None] | None = None,
) -> tuple[T, list[Attempt]]:
    """Run ``call`` until it succeeds, fails fatally or runs out of budget or attempts.

    Returns the value and the attempts; raises :class:`AttemptsFailed` otherwise. A
    ``timeout_s`` bounds each attempt and counts as a transient failure. Errors that are
    not :class:`ProviderError` (bugs, user code) are not retried. ``stopping`` is asked
    before each retry: when it names a reason (the run is stopping), retrying ends.
    """
    attempts: list[Attempt] = []
    waited = 0.0
    first = time.perf_counter()
    for number in range(1, ATTEMPTS_CEILING + 1):
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        try:
            if timeout_s is None:
                value = await call()
            else:
                try:
                    value = await asyncio.wait_for(call(), timeout_s)
                except TimeoutError:
                    raise TransientError(f"request timed out after {timeout_s:g} s") from None
        except ProviderError as exc:
            attempts.append(_attempt(number, started, t0, exc, waited))
            if not exc.retryable:
                raise AttemptsFailed(exc, attempts) from exc
            waited = policy.delay(number, exc)
            why = policy.give_up(number, time.perf_counter() - first, waited)
            if why is None and stopping is not None:
                why = stopping()
            if why is not None:
                raise AttemptsFailed(exc, attempts, why) from exc
            if waited > 0:
                await asyncio.sleep(waited)
            continue
        except Exception as exc:
            attempts.append(_attempt(number, started, t0, exc, waited))
            raise AttemptsFailed(exc, attempts) from exc
        attempts.append(_ok(number, started, (time.perf_counter() - t0) * 1000, waited))
        return value, attempts
    raise AssertionError("unreachable: give_up() ends the loop")  # pragma: no cover


def _ok(number: int, started: datetime, duration_ms: float, waited: float) -> Attempt:
    """The record of a call that succeeded: every call makes one, of values made here,
    so it is built without validating them again (as ``Attempt(...)`` would leave it)."""
    return built(
        Attempt,
        {
            "number": number,
            "started_at": started,
            "duration_ms": float(duration_ms),
            "outcome": "ok",
            "error_type": None,
            "message": None,
            "status_code": None,
            "retry_after": None,
            "waited_ms": float(waited * 1000),
            "trace_path": None,
        },
    )


def _attempt(
    number: int, started: datetime, t0: float, exc: BaseException, waited: float
) -> Attempt:
    return Attempt(
        number=number,
        started_at=started,
        duration_ms=(time.perf_counter() - t0) * 1000,
        outcome=_outcome(exc),
        error_type=type(exc).__name__,
        message=str(exc)[:2000],
        status_code=getattr(exc, "status_code", None),
        retry_after=getattr(exc, "retry_after", None),
        waited_ms=waited * 1000,
        trace_path=getattr(getattr(exc, "evidence", None), "trace_path", None),
    )
