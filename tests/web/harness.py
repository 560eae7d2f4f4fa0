"""The browser test harness: a live evalbook server, a real Chromium, screenshots, axe.

Reusable by every page's tests (see ``conftest.py`` for the fixtures):

- ``web``: a :class:`WebApp` — the app under uvicorn on a free loopback port, with the
  in-process worker, a SQLite store, and the local OpenAI-compatible test server as the
  model endpoint (:meth:`WebApp.model`);
- ``page``: a fresh browser page (1280×800, light) whose CSP violations and script errors
  fail the test;
- :func:`shoot`: with ``EVALBOOK_SCREENSHOTS=DIR`` set, saves the page in light and dark;
- :func:`axe_violations`: runs the vendored axe-core and returns serious/critical findings.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import yaml
from playwright.sync_api import Page

from evalbook.server import ServerSettings, create_app
from evalbook.server.services import Service, worker_service
from evalbook.storage.catalog import register_suite
from evalbook.storage.store import Store
from evalbook.storage.workspaces import DEFAULT_WORKSPACE, ensure_workspace
from evalbook.suites import load_suite_from_dict
from tests.server.live import free_socket, serving

T = TypeVar("T")


def off_thread(call: Callable[[], T]) -> T:
    """Run library code that starts its own event loop away from this thread: while a
    test holds a page, Playwright's sync API keeps an event loop running here."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(call).result()


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())`` on a thread of its own (see :func:`off_thread`)."""
    return off_thread(lambda: asyncio.run(make()))


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
#: ``pytestmark = BOTH_DATABASES``: every test of the module on SQLite and on PostgreSQL.
BOTH_DATABASES = pytest.mark.parametrize("web_db", ["sqlite", "postgresql"], indirect=True)
AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass
class WebApp:
    """A running evalbook server for browser tests."""

    url: str
    store: Store
    model_url: str
    settings: ServerSettings

    def model(self, name: str = "test-model") -> dict[str, Any]:
        """A model config answered by the local test server."""
        return {"provider": "openai-compatible", "name": name, "base_url": self.model_url}

    def register(self, data: dict[str, Any], workspace: str = DEFAULT_WORKSPACE) -> str:
        """Register a suite (the dict form of a suite file) in ``workspace``."""
        ws = ensure_workspace(self.store, workspace)
        suite = load_suite_from_dict(data)
        register_suite(self.store, ws.id, suite)
        return suite.id

    def api(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers or {}, timeout=30)

    def wait_for(self, check: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting")
            time.sleep(0.05)


@contextlib.contextmanager
def web_app(
    store: Store,
    model_url: str,
    *,
    services: tuple[Service, ...] = (worker_service,),
    **settings: Any,
) -> Iterator[WebApp]:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    config = ServerSettings(port=port, poll_s=0.05, **settings)
    app = create_app(config, store=store, services=services)
    with serving(app, sock):
        yield WebApp(f"http://127.0.0.1:{port}", store, model_url, config)


def suite_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False)


@dataclass
class PageErrors:
    """What a page reported: CSP violations and uncaught script errors."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: Any) -> None:
            text = message.text
            if message.type == "error" and (
                "Content Security Policy" in text or "Refused to" in text
            ):
                self.messages.append(f"console: {text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.messages.append(f"pageerror: {exc}"))


def screenshots_dir() -> Path | None:
    value = os.environ.get("EVALBOOK_SCREENSHOTS")
    return Path(value) if value else None


def shoot(page: Page, name: str, *, full_page: bool = True) -> list[Path]:
    """Save ``name-light.png`` and ``name-dark.png`` when ``EVALBOOK_SCREENSHOTS`` names a
    folder (a no-op otherwise). Returns the files written."""
    folder = screenshots_dir()
    if folder is None:
        return []
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    page.evaluate("() => window.scrollTo(0, 0)")  # a sticky header stays on top
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(50)
        path = folder / f"{name}-{scheme}.png"
        # caret="initial": hiding the caret injects a <style> the CSP refuses.
        page.screenshot(path=str(path), full_page=full_page, caret="initial")
        written.append(path)
    page.emulate_media(color_scheme="light")
    return written


def axe_violations(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of the given impacts on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    results = page.evaluate(
        """async () => {
            const r = await window.axe.run(document, {resultTypes: ['violations']});
            return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
        }"""
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for v in results
        if v["impact"] in impacts
    ]
