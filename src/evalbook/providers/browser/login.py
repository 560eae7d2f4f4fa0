"""``evalbook browser login``: log in to a site once, keep the session for every run.

Where a display exists the page opens in a window and the user logs in by hand (any
second factor included); otherwise the profile's ``login`` section names a form's
selectors and the environment variables holding the credentials, which are typed in.
Either way the session (Playwright's storage state: cookies and local storage) is saved
under ``$EVALBOOK_HOME/browser/state/``, readable by the user only — never in the
database or an export.
"""

from __future__ import annotations

import os
from pathlib import Path

from evalbook.errors import AuthError, ConfigError
from evalbook.providers.browser.chromium import (
    find_chromium,
    has_display,
    launch,
    require_playwright,
    state_path,
)
from evalbook.providers.browser.page_scripts import POLL_MS
from evalbook.providers.browser.profile import BrowserProfile

__all__ = ["login"]

#: In the page: logged in once the input shows and no login wall is visible.
_LOGGED_IN = """([input, login]) => {
  const shows = (sel) => sel && [...document.querySelectorAll(sel)].some(
    (el) => el.getClientRects().length);
  return shows(input) && !shows(login);
}"""


async def login(
    profile: BrowserProfile, *, headed: bool | None = None, timeout_s: float = 300
) -> Path:
    """Log in (by hand when headed, else from the environment) and save the session."""
    require_playwright()
    executable = find_chromium(profile.chromium)
    headed = has_display() if headed is None else headed
    credentials = None if headed else _credentials(profile)
    from playwright.async_api import TimeoutError as PlaywrightTimeout
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright, executable, headed=headed)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            form = profile.login
            await page.goto(
                (form.url if form and form.url else None) or profile.url,
                wait_until="domcontentloaded",
                timeout=timeout_s * 1000,
            )
            if credentials is not None and form is not None:
                user, password = credentials
                await page.locator(form.username).first.fill(user, timeout=10_000)
                await page.locator(form.password).first.fill(password, timeout=10_000)
                if form.submit == "Enter":
                    await page.locator(form.password).first.press("Enter")
                else:
                    await page.locator(form.submit).first.click(timeout=10_000)
            if page.url.rstrip("/") != profile.url.rstrip("/") and form and form.url:
                await page.goto(profile.url, wait_until="domcontentloaded")
            try:
                await page.wait_for_function(
                    _LOGGED_IN,
                    arg=[profile.input, profile.login_required],
                    polling=POLL_MS,
                    timeout=timeout_s * 1000 if headed else 20_000,
                )
            except PlaywrightTimeout:
                raise AuthError(
                    f"browser {profile.display_name}: still not logged in after"
                    f" {'waiting' if headed else 'submitting the login form'} (the input"
                    f" {profile.input!r} is not shown, or {profile.login_required!r} still"
                    " is); check the credentials and the profile's login selectors"
                ) from None
            path = state_path(profile.slug)
            path.parent.mkdir(parents=True, exist_ok=True)
            await context.storage_state(path=str(path))
            path.chmod(0o600)
            return path
        finally:
            await browser.close()


def _credentials(profile: BrowserProfile) -> tuple[str, str]:
    form = profile.login
    if form is None:
        raise ConfigError(
            f"site profile {profile.display_name!r}: no display to log in by hand, and the"
            " profile has no login section (username/password selectors and the"
            " environment variables holding the credentials: username_env, password_env)"
        )
    values = []
    for name in (form.username_env, form.password_env):
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"site profile {profile.display_name!r}: set the environment variable {name}"
                " (named by the profile's login section) to log in without a display"
            )
        values.append(value)
    return values[0], values[1]
