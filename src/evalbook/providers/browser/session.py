"""One browser page talking to the site: a fresh conversation per case, turn by turn.

A session is a Playwright browser context with one page, reused across cases (the login
state is loaded once per context). After a failure the page is navigated afresh before
its next case, since a half-streamed or hung conversation cannot be trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook.core.result import BlobRef, ProviderEvidence
from evalbook.errors import ConfigError, ProviderError, TransientError, UserError
from evalbook.providers.browser.classify import (
    login_error,
    page_error,
    rate_limit_error,
    status_error,
)
from evalbook.providers.browser.pacing import pace
from evalbook.providers.browser.page_scripts import ARM, DONE, EXCERPT, PAGE_STATE, POLL_MS
from evalbook.providers.browser.profile import BrowserProfile

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

__all__ = ["HTML_EXCERPT_CHARS", "AnswerTally", "PageSession"]

HTML_EXCERPT_CHARS = 20_000
#: How long a selector the profile names may take to show up after the page loaded.
SELECTOR_WAIT_S = 10.0
#: Loading the page and finding its input, before the first message (apart from the
#: profile's ``timeout_s``, which bounds the answers: a slow start is not a slow answer).
PAGE_READY_S = 2 * SELECTOR_WAIT_S + 30.0
#: Turns that ran out of time with new text outside ``response`` before the selector is
#: called wrong (one could be a slow site showing only its typing indicator).
STRAYS_FOR_CONFIG_ERROR = 2


@dataclasses.dataclass
class AnswerTally:
    """Shared by one provider's pages: answers the ``response`` selector has read, and
    turns that timed out with new text elsewhere on the page. Once an answer was read
    the selector is proven, and a timeout is the site's (retried); before that, a second
    such turn means the selector is wrong (a config error that stops the run, instead
    of every case timing out ``timeout_s`` × attempts)."""

    answered: int = 0
    strays: int = 0


class PageSession:
    """A context + page of one site; :meth:`ask` runs one case's turns."""

    def __init__(
        self,
        context: BrowserContext,
        page: Page,
        profile: BrowserProfile,
        traces: Path,
        tally: AnswerTally | None = None,
    ) -> None:
        self.context = context
        self.page = page
        self.profile = profile
        self.traces = traces
        self.tally = tally if tally is not None else AnswerTally()
        self.opened = False
        self.broken = False
        self.tracing = False

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # the browser may be gone already
            await self.context.close()

    # -- one case ----------------------------------------------------------------------

    async def ask(self, turns: list[str], case_id: str | None) -> tuple[str, ProviderEvidence]:
        """Send each turn, wait for each answer; the last answer and the page's evidence.
        The page gets :data:`PAGE_READY_S` to load; the answers, together, ``timeout_s``."""
        tracing = self.profile.trace_on_failure
        if tracing:
            await self._start_trace()
        try:
            await self._fresh_conversation(time.monotonic() + PAGE_READY_S)
            deadline = time.monotonic() + self.profile.timeout_s
            answers = [await self._turn(text, deadline) for text in turns]
        except BaseException as exc:
            self.opened = False  # the next case starts from a fresh page load
            error = self._classified(exc)
            if error is None:
                if tracing:
                    await self._stop_trace(None)
                raise
            evidence = await self._evidence(None)
            if tracing:
                evidence.trace_path = await self._stop_trace(case_id)
            if isinstance(error, ProviderError):
                error.evidence = evidence
            else:
                error.evidence = evidence  # type: ignore[attr-defined]
            raise error from None
        evidence = await self._evidence(answers)
        if tracing:
            await self._stop_trace(None)
        return answers[-1], evidence

    def _classified(self, exc: BaseException) -> ProviderError | UserError | None:
        if isinstance(exc, ProviderError | UserError):
            return exc
        if isinstance(exc, Exception):
            self.broken = "closed" in str(exc).lower()
            return page_error(exc, self.profile)
        return None  # cancellation: the run is stopping

    async def _fresh_conversation(self, deadline: float) -> None:
        profile = self.profile
        if not self.opened or profile.new_chat == "reload":
            response = await self.page.goto(
                profile.url, wait_until="domcontentloaded", timeout=_ms(deadline)
            )
            if response is not None and response.status >= 400:
                await self._check_state()
                raise status_error(profile, response.status, response.headers)
            self.opened = True
        else:
            await self._click(profile.new_chat, "new_chat", deadline)
        await self._check_state()
        await self._visible(profile.input, "input", deadline)

    async def _turn(self, text: str, deadline: float) -> str:
        profile = self.profile
        before = await self.page.locator(profile.response).count()
        token = uuid.uuid4().hex
        await self.page.evaluate(ARM, token)
        if profile.rpm:
            await pace(profile.url, profile.rpm)
        box = self.page.locator(profile.input).first
        await box.fill(text, timeout=_ms(deadline))
        if profile.send == "Enter":
            await box.press("Enter", timeout=_ms(deadline))
        else:
            await self._click(profile.send, "send", deadline, reload=False)
        rate = profile.rate_limited.selector if profile.rate_limited else None
        args = [
            profile.response,
            profile.streaming,
            profile.login_required,
            rate,
            before,
            profile.done.settle_ms,
            profile.done.require_text,
            token,
        ]
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        try:
            handle = await self.page.wait_for_function(
                DONE, arg=args, polling=POLL_MS, timeout=_ms(deadline)
            )
        except PlaywrightTimeout:
            raise await self._unfinished(before, text) from None
        state: dict[str, Any] = await handle.json_value()
        await handle.dispose()
        kind = state.get("state")
        if kind == "done":
            self.tally.answered += 1
            return str(state.get("text", ""))
        if kind == "login":
            raise login_error(profile, str(state.get("text") or ""))
        if kind == "rate_limited":
            raise rate_limit_error(profile, str(state.get("text") or ""))
        if kind == "reloaded":
            raise TransientError(
                f"browser {profile.display_name}: the page reloaded or navigated away while"
                " the answer was streaming"
            )
        raise TransientError(
            f"browser {profile.display_name}: the conversation was cleared while the answer"
            f" was streaming ({profile.response!r} matched {state.get('count')} elements)"
        )

    async def _unfinished(self, before: int, typed: str) -> ProviderError | ConfigError:
        """The timeout's error, saying what the page looked like when time ran out. No
        new message matching ``response`` while the page did show new text elsewhere
        (and nothing is streaming) is the profile's mistake, not the site's: a
        :class:`ConfigError` naming the selector and where the answer went, which stops
        the run instead of timing out every case."""
        profile = self.profile
        try:
            state = await self.page.evaluate(
                PAGE_STATE,
                [
                    profile.response,
                    profile.login_required,
                    profile.rate_limited.selector if profile.rate_limited else None,
                    before,
                    profile.streaming,
                    typed,
                ],
            )
        except Exception:
            state = {}
        if state.get("login"):
            return login_error(profile, state["login"])
        if state.get("rate"):
            return rate_limit_error(profile, state["rate"])
        stray = state.get("stray") if not state.get("streaming") else None
        if not state.get("grew") and stray:
            what = (
                f"the response selector {profile.response!r} matched no new message within"
                f" {profile.timeout_s:g} s (timeout_s), but the page showed new text in"
                f" {stray!r}"
            )
            if self.tally.answered == 0:
                self.tally.strays += 1
                if self.tally.strays >= STRAYS_FOR_CONFIG_ERROR:
                    return ConfigError(
                        f"site profile {profile.display_name!r}: {what}, and no answer has"
                        " matched it yet; fix the response selector in the profile"
                    )
            return TransientError(f"browser {profile.display_name}: {what}")
        if not state.get("grew"):
            what = f"no new message matched the response selector {profile.response!r}"
        elif not (state.get("last") or "").strip():
            what = f"a new message matched {profile.response!r} but stayed empty"
        elif profile.streaming:
            what = (
                f"the answer was still streaming (marker {profile.streaming!r} present or the"
                " text still changing)"
            )
        else:
            what = "the answer's text kept changing"
        return TransientError(
            f"browser {profile.display_name}: no finished answer within"
            f" {profile.timeout_s:g} s (timeout_s): {what}"
        )

    # -- page state --------------------------------------------------------------------

    async def _check_state(self) -> None:
        """A login wall or a rate-limit banner, before anything is typed."""
        profile = self.profile
        for selector, make in (
            (profile.login_required, login_error),
            (profile.rate_limited.selector if profile.rate_limited else None, rate_limit_error),
        ):
            if selector is None:
                continue
            found = self.page.locator(selector).first
            if await found.count() and await found.is_visible():
                raise make(profile, (await found.inner_text())[:500])

    async def _visible(
        self, selector: str, role: str, deadline: float, *, reload: bool = True
    ) -> None:
        """Wait for a selector the profile names; one that never shows is a config error
        naming it (after one reload, in case the page was having a bad moment)."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        wait = SELECTOR_WAIT_S * 1000
        for attempt in range(2 if reload else 1):
            try:
                await self.page.locator(selector).first.wait_for(state="visible", timeout=wait)
                return
            except PlaywrightTimeout:
                await self._check_state()
                if attempt == 0:
                    await self.page.reload(wait_until="domcontentloaded", timeout=_ms(deadline))
                    await self._check_state()
        raise ConfigError(
            f"site profile {self.profile.display_name!r}: the {role} selector {selector!r}"
            f" matched nothing visible on {self.page.url} (after {wait / 1000:g} s"
            f"{' and a reload' if reload else ''}); fix the selector in the profile"
        )

    async def _click(
        self, selector: str, role: str, deadline: float, *, reload: bool = True
    ) -> None:
        await self._visible(selector, role, deadline, reload=reload)
        await self.page.locator(selector).first.click(timeout=_ms(deadline))

    # -- evidence ----------------------------------------------------------------------

    async def _evidence(self, answers: list[str] | None) -> ProviderEvidence:
        """Screenshot, HTML excerpt, address and title; what cannot be had is left out."""
        evidence = ProviderEvidence(source="browser", url=self.page.url)
        details: dict[str, Any] = {"profile": self.profile.display_name}
        if answers is not None and len(answers) > 1:
            details["turn_answers"] = answers[:-1]
        evidence.details = details
        try:
            evidence.title = await asyncio.wait_for(self.page.title(), 5)
            png = await self.page.screenshot(type="png", timeout=10_000)
            evidence.screenshot = BlobRef.of(png, "image/png")
            evidence.html_excerpt = await asyncio.wait_for(
                self.page.evaluate(EXCERPT, [self.profile.response, HTML_EXCERPT_CHARS]), 5
            )
        except Exception as exc:
            details["evidence_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return evidence

    async def _start_trace(self) -> None:
        """One trace per context, a chunk per case (a chunk is far cheaper to open)."""
        if not self.tracing:
            await self.context.tracing.start(snapshots=True, screenshots=False)
            self.tracing = True
        else:
            await self.context.tracing.start_chunk()

    async def _stop_trace(self, case_id: str | None) -> str | None:
        """Keep the trace of a failed case (under ``$EVALBOOK_HOME/browser/traces``)."""
        try:
            if case_id is None:
                await self.context.tracing.stop_chunk()
                return None
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in case_id or "case")
            path = self.traces / f"{stamp}-{safe[:80]}-{uuid.uuid4().hex[:8]}.zip"
            path.parent.mkdir(parents=True, exist_ok=True)
            await self.context.tracing.stop_chunk(path=str(path))
            return str(path)
        except Exception:
            return None


def _ms(deadline: float) -> float:
    """Milliseconds left before the case's deadline (at least 1: 0 means "no limit")."""
    return max(1.0, (deadline - time.monotonic()) * 1000)
