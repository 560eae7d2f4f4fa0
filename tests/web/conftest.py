"""Browser fixtures (see ``harness.py``): one Chromium for the package, a live server and a
fresh page per test. Set ``EVALBOOK_SCREENSHOTS=DIR`` to save every page in light and
dark. The app's database is SQLite; a module marked ``pytestmark = BOTH_DATABASES``
(``harness.py``) runs each of its tests on PostgreSQL too (the session's own database,
emptied before each test, dropped at the end: see ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from evalbook.storage.store import Store
from tests.conftest import _truncate
from tests.web.harness import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, PageErrors, WebApp, web_app


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium for all of ``tests/web``. Package-scoped, not session-scoped: Playwright's
    sync API keeps an event loop running in this thread while it is open, and the
    async tests of the packages after this one need the thread free of it. (So tests in
    ``tests/web`` are sync.)"""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"the browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def web_db(request: pytest.FixtureRequest) -> str:
    """``sqlite``, or what ``BOTH_DATABASES`` parametrises."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def web_store(web_db: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    if web_db == "postgresql":
        _truncate(request.getfixturevalue("_pg_store"))
        store = Store.open(str(request.getfixturevalue("pg_url")))
    else:
        store = Store.open(f"sqlite:///{tmp_path / 'web.db'}")
    yield store
    store.close()


@pytest.fixture
def web(web_store: Store, server: Any) -> Iterator[WebApp]:
    """The app with its worker on a free loopback port (single-user mode: no keys)."""
    with web_app(web_store, f"{server.base_url}") as app:
        yield app


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def page(browser: Browser, web: WebApp, page_errors: PageErrors) -> Iterator[Page]:
    """A fresh page on ``web`` (its own cookies); CSP violations and script errors found
    while the test ran fail it."""
    context = browser.new_context(base_url=web.url, viewport=VIEWPORT, color_scheme="light")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page_errors.watch(page)
    yield page
    context.close()
    assert not page_errors.messages, "\n".join(page_errors.messages)
