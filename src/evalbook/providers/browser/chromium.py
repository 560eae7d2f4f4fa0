"""Finding the system's Chromium and starting it through Playwright.

Why the system's browser: evalbook never downloads one (``playwright install`` fetches a
build of its own from the internet, which a locked-down CI or server cannot do, and which
goes stale unpatched). Debian's ``chromium`` package is found on ``PATH``; a profile's
``chromium`` or ``EVALBOOK_CHROMIUM`` names another executable.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evalbook.config import evalbook_home
from evalbook.errors import ConfigError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

__all__ = [
    "LAUNCH_ARGS",
    "browser_dir",
    "find_chromium",
    "has_display",
    "launch",
    "require_playwright",
    "state_path",
]

#: Quiet, headless, no calls home: no GPU, no background networking, updates or sync.
LAUNCH_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
)
#: Chromium's log line of an error: ``[pid:tid:date:ERROR:file.cc:line] what``.
_ERROR_LINE = re.compile(r":ERROR:[^\]]*\]\s*(.+)$")
_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = (
    "install the system's Chromium (Debian/Ubuntu: apt-get install chromium) or name an"
    " executable with EVALBOOK_CHROMIUM=/path/to/chromium (or `chromium:` in the site"
    " profile); evalbook never downloads a browser (no `playwright install`)"
)


def require_playwright() -> None:
    """Playwright's Python package, or a clear hint to install the extra."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise ConfigError(
            "the browser provider needs Playwright: pip install 'evalbook[browser]'"
        ) from None


def find_chromium(configured: str | None = None) -> str:
    """The Chromium executable: the profile's, ``EVALBOOK_CHROMIUM``, or one on ``PATH``."""
    for source, value in (
        ("the site profile's chromium", configured),
        ("EVALBOOK_CHROMIUM", os.environ.get("EVALBOOK_CHROMIUM")),
    ):
        if value:
            path = shutil.which(value) or (value if Path(value).is_file() else None)
            if path is None or not os.access(path, os.X_OK):
                raise ConfigError(f"{source} names {value!r}, which is not an executable")
            return path
    for name in _NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise ConfigError(f"no Chromium found on PATH ({', '.join(_NAMES)}): {INSTALL_HINT}")


def has_display() -> bool:
    """Whether a headed browser could show a window here."""
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


async def launch(playwright: Playwright, executable: str, *, headed: bool = False) -> Browser:
    """Chromium with the project's launch flags (``--headless`` dropped when headed). A
    headed browser where no display exists, or a browser that does not start, is a
    :class:`ConfigError` saying which executable and why (the browser's own complaint)."""
    if headed and not has_display():
        raise ConfigError(
            "no display to open a browser window in (neither DISPLAY nor WAYLAND_DISPLAY is"
            " set): log in with --headless (the profile's login section and the environment"
            " variables it names), or run where a display exists"
        )
    args = [a for a in LAUNCH_ARGS if not (headed and a == "--headless")]
    options: dict[str, Any] = {"executable_path": executable, "headless": not headed}
    try:
        return await playwright.chromium.launch(args=args, **options)
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "playwright":
            raise
        raise ConfigError(
            f"the browser {executable} did not start: {_complaint(str(exc))}; {INSTALL_HINT}"
        ) from None


def _complaint(message: str) -> str:
    """The browser's own error lines from a failed launch's log (else its first line)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = list(dict.fromkeys(m.group(1) for m in map(_ERROR_LINE.search, lines) if m))
    found = "; ".join(errors[:3]) or (lines[0] if lines else "no message")
    return found[:500]


def browser_dir() -> Path:
    """``$EVALBOOK_HOME/browser``: saved logins and failure traces, private to the user."""
    path = evalbook_home() / "browser"
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def state_path(slug: str) -> Path:
    """Where a site's saved login (Playwright storage state) lives."""
    return browser_dir() / "state" / f"{slug}.json"
