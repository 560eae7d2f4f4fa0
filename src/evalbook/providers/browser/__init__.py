"""Models behind a website: the ``browser`` provider (site profiles, a page driver, login).

See :mod:`evalbook.providers.browser.provider` for how a case runs and
``docs/browser.md`` for the profile format. Playwright is imported only when a page is
driven; install it with ``pip install 'evalbook[browser]'``.
"""

from __future__ import annotations

from evalbook.providers.browser.profile import BrowserProfile, load_profile
from evalbook.providers.browser.provider import BrowserProvider

__all__ = ["BrowserProfile", "BrowserProvider", "load_profile"]
