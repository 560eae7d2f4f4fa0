"""``browser:``: a model that is only reachable through a website's chat page.

``browser:path/to/site.yaml`` (or ``provider: browser`` with an inline ``profile:`` in a
suite's model config) names a site profile. Before the run starts the profile is read
into the model config's ``params.profile``, so the run records exactly what it drove and a
resume never reads a file edited since. Cache keys hold the rendered prompt and the
profile's identity (the page and how it is driven), not its timeouts or pacing.

Each case gets a fresh conversation on one of ``max_pages`` pages (browser contexts that
share the saved login), types its user turns, waits for each answer to finish, and keeps a
screenshot, an HTML excerpt and, on failure, a Playwright trace as evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook.core.messages import ImagePart, Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import FatalProviderError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.browser.chromium import (
    browser_dir,
    find_chromium,
    launch,
    require_playwright,
    state_path,
)
from evalbook.providers.browser.profile import load_profile, profile_from_data
from evalbook.providers.browser.session import PAGE_READY_S, AnswerTally, PageSession

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

__all__ = ["BrowserProvider"]

#: Seconds the executor waits beyond the profile's own ``timeout_s``, so that the page
#: driver times out first and records a screenshot and trace of the hung page.
TIMEOUT_GRACE_S = 30.0


class BrowserProvider(Provider):
    """Drives a chat page in the system's Chromium; see the module docstring."""

    name = "browser"
    default_max_connections = 1
    fixed_max_connections = True
    supports_images = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        raw = config.params.get("profile")
        self.profile = (
            profile_from_data(raw, f"model {config.spec}: params.profile")
            if raw is not None
            else load_profile(config.name)
        )
        require_playwright()
        self.executable = find_chromium(self.profile.chromium)
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._idle: asyncio.Queue[PageSession] | None = None
        self._open = 0
        self._start_lock: asyncio.Lock | None = None
        self._tally = AnswerTally()

    # -- config ------------------------------------------------------------------------

    @classmethod
    def resolve_config(cls, config: ModelConfig, *, base_dir: Path | None = None) -> ModelConfig:
        raw = config.params.get("profile")
        if raw is None:
            profile = load_profile(config.name, base_dir=base_dir)
        else:
            profile = profile_from_data(raw, f"model {config.spec}: profile")
        update: dict[str, Any] = {
            "params": {**config.params, "profile": profile.as_params()},
            "timeout_s": PAGE_READY_S + profile.timeout_s + TIMEOUT_GRACE_S,
        }
        if config.max_connections is None:
            update["max_connections"] = profile.max_pages
        fields_set = config.model_fields_set
        if "temperature" not in fields_set:
            update["temperature"] = None  # unknown: the site samples as it likes
        if "max_tokens" not in fields_set:
            update["max_tokens"] = None  # the site decides how long answers are
        return config.model_copy(update=update)

    def answer_identity(self) -> dict[str, Any]:
        identity = self.config.identity()
        identity["params"] = {**self.config.params, "profile": self.profile.identity()}
        return identity

    @property
    def endpoint(self) -> str:
        return f"browser:{self.profile.url}"

    @property
    def max_connections(self) -> int:
        return self.config.max_connections or self.profile.max_pages

    def price(self) -> None:
        return None

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._browser is not None and self._browser.is_connected():
                return
            from playwright.async_api import async_playwright

            if self._playwright is None:
                self._playwright = await async_playwright().start()
            self._browser = await launch(self._playwright, self.executable)
            self._idle = asyncio.Queue()
            self._open = 0

    async def aclose(self) -> None:
        idle, self._idle = self._idle, None
        while idle is not None and not idle.empty():
            await idle.get_nowait().close()
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):  # already gone
                await browser.close()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            await playwright.stop()

    async def _acquire(self) -> PageSession:
        if self._browser is None or not self._browser.is_connected():
            await self.start()
        assert self._idle is not None and self._browser is not None
        if self._idle.empty() and self._open < self.max_connections:
            self._open += 1
            try:
                return await self._new_session(self._browser)
            except BaseException:
                self._open -= 1
                raise
        return await self._idle.get()

    async def _new_session(self, browser: Browser) -> PageSession:
        saved = state_path(self.profile.slug)
        context = await browser.new_context(
            storage_state=str(saved) if saved.is_file() else None,
            viewport={"width": 1280, "height": 900},
        )
        page = await context.new_page()
        return PageSession(context, page, self.profile, browser_dir() / "traces", self._tally)

    async def _release(self, session: PageSession) -> None:
        if session.broken or self._idle is None:
            self._open -= 1
            await session.close()
            return
        self._idle.put_nowait(session)

    # -- one call ------------------------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        turns = self.turns(request.messages)
        session = await self._acquire()
        try:
            text, evidence = await session.ask(turns, request.case_id)
        finally:
            await asyncio.shield(self._release(session))
        return GenerateResponse(
            text=text,
            served_model=self.profile.display_name,
            finish_reason="stop",
            evidence=evidence,
        )

    def turns(self, messages: list[Message]) -> list[str]:
        """The user turns to type; a system message is put before the first one (or
        refused), an assistant turn or an image cannot be typed into a page."""
        system = [m.text for m in messages if m.role == "system"]
        if system and self.profile.system == "refuse":
            raise FatalProviderError(
                f"site profile {self.profile.display_name!r} refuses system messages"
                " (system: refuse); drop the system prompt or set system: prepend"
            )
        turns: list[str] = []
        for m in messages:
            if m.role == "assistant":
                raise FatalProviderError(
                    "a chat page cannot be given an assistant turn; the browser provider"
                    " sends user messages only"
                )
            if isinstance(m.content, list) and any(isinstance(p, ImagePart) for p in m.content):
                raise FatalProviderError("the browser provider cannot attach images to a chat page")
            if m.role == "user":
                turns.append(m.text)
        if not turns:
            raise FatalProviderError("nothing to type: the rendered prompt has no user message")
        if system:
            turns[0] = "\n\n".join([*system, turns[0]])
        return turns
