"""``evalbook browser login|check``: sessions and smoke tests for models behind a website."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import typer

from evalbook.cli.console import console, err_console
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.providers.base import GenerateRequest

app = typer.Typer(
    help="Models behind a website: log in once, try a site profile.", no_args_is_help=True
)


@app.command("login")
def login_command(
    profile: Path = typer.Argument(..., help="The site profile (YAML)."),
    headed: bool | None = typer.Option(
        None,
        "--headed/--headless",
        help="Log in by hand in a window (default where a display exists), or fill the"
        " profile's login form from the environment variables it names.",
    ),
    timeout_s: float = typer.Option(300.0, "--timeout", help="Seconds to wait for the login."),
) -> None:
    """Log in to the site once; runs reuse the saved session (kept under
    $EVALBOOK_HOME/browser/, never in the database or an export)."""
    from evalbook.providers.browser.login import login
    from evalbook.providers.browser.profile import load_profile

    site = load_profile(profile)
    if headed is not False and _display():
        err_console.print(f"log in to {site.url} in the window that opens …")
    path = asyncio.run(login(site, headed=headed, timeout_s=timeout_s))
    err_console.print(f"logged in to {site.display_name}; session saved to {path}")


@app.command("check")
def check_command(
    profile: Path = typer.Argument(..., help="The site profile (YAML)."),
    message: str = typer.Option("Say hello.", "--message", "-m", help="What to send."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Send one message through the profile and show the answer, how long it took and
    where the evidence went: the quickest way to get a new profile's selectors right."""
    from evalbook.providers.browser.provider import BrowserProvider

    config = BrowserProvider.resolve_config(ModelConfig(provider="browser", name=str(profile)))
    provider = BrowserProvider(config)
    request = GenerateRequest(
        messages=[Message(role="user", content=message)], config=config, case_id="check"
    )

    async def ask() -> tuple[str, float]:
        try:
            await provider.start()
            t0 = time.perf_counter()
            reply = await provider.generate(request)
            return reply.text, time.perf_counter() - t0
        finally:
            await provider.aclose()

    text, seconds = asyncio.run(ask())
    if as_json:
        print(json.dumps({"answer": text, "seconds": round(seconds, 3)}))
        return
    console.print(text, markup=False, highlight=False)
    err_console.print(f"answered in {seconds:.2f} s")


def _display() -> bool:
    from evalbook.providers.browser.chromium import has_display

    return has_display()
