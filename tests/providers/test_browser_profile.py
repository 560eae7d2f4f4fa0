"""Site profiles and the browser provider's configuration, without starting a browser:
validation that names the field, identity without transport knobs, the recorded profile,
a missing browser or Playwright as a clear error, and what can be typed into a page."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app
from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.core.run import RunStatus
from evalbook.errors import ConfigError, FatalProviderError
from evalbook.providers.browser.chromium import find_chromium, require_playwright
from evalbook.providers.browser.classify import page_error, status_error
from evalbook.providers.browser.profile import BrowserProfile, load_profile, profile_from_data
from evalbook.providers.browser.provider import BrowserProvider
from evalbook.providers.registry import create_provider, resolve_config
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

SITE = {"url": "http://127.0.0.1:9/", "input": "#prompt", "response": ".answer"}


def test_a_profile_names_what_is_wrong() -> None:
    with pytest.raises(ConfigError) as info:
        profile_from_data({"url": "file:///etc/passwd", "input": "#p", "colour": 1}, "site.yaml")
    message = str(info.value)
    assert "site.yaml" in message and "url" in message and "http" in message
    assert "response: Field required" in message and "colour" in message
    with pytest.raises(ConfigError, match="regular expression"):
        profile_from_data({**SITE, "rate_limited": {"selector": "x", "wait_pattern": "("}}, "p")
    login = {"username": "#u", "password": "#p", "username_env": "U", "password_env": "hunter 2"}
    with pytest.raises(ConfigError, match="NAME of an environment variable"):
        profile_from_data({**SITE, "login": login}, "p")


def test_the_rate_limit_wait_is_read_from_the_banner() -> None:
    rule = BrowserProfile.model_validate({**SITE, "rate_limited": ".banner"}).rate_limited
    assert rule is not None and rule.selector == ".banner"
    assert rule.wait_from("Too many requests. Try again in 12 seconds.") == 12.0
    assert rule.wait_from("Slow down, please") == 60.0


def test_identity_leaves_transport_out() -> None:
    a = BrowserProfile.model_validate(SITE)
    b = BrowserProfile.model_validate({**SITE, "timeout_s": 5, "max_pages": 4, "rpm": 10})
    c = BrowserProfile.model_validate({**SITE, "done": {"settle_ms": 50}})
    assert a.identity() == b.identity() != c.identity()
    assert a.slug == b.slug and a.slug.startswith("127.0.0.1-")


def test_a_profile_file_is_recorded_into_the_model_config(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "chat.yaml").write_text(
        "url: http://127.0.0.1:9/\ninput: '#prompt'\nresponse: .answer\nmax_pages: 3\n"
    )
    spec = parse_model_spec("browser:sites/chat.yaml")
    with pytest.raises(ConfigError, match="cannot be read"):
        resolve_config(spec)  # not beside the working directory …
    config = resolve_config(spec, base_dir=tmp_path)  # … but beside the suite
    assert config.params["profile"]["input"] == "#prompt"
    assert config.max_connections == 3 and config.temperature is None
    assert config.max_tokens is None and config.timeout_s > 120
    # A resume reads the recorded profile, never the file again.
    (tmp_path / "sites" / "chat.yaml").write_text("broken: [")
    again = resolve_config(ModelConfig.model_validate(config.model_dump()))
    assert again.params == config.params


def test_a_suite_can_hold_its_profile_inline() -> None:
    suite = load_suite_from_dict(
        {
            "id": "inline",
            "model": {"provider": "browser", "temperature": 0.7, "profile": {**SITE, "name": "x"}},
            "prompt": "hi",
            "cases": [{"vars": {}}],
        }
    )
    assert suite.model is not None and suite.model.name == "x"
    config = resolve_config(suite.model)
    assert config.temperature == 0.7  # what the user set is kept
    provider = create_provider(config)
    assert isinstance(provider, BrowserProvider) and provider.max_connections == 1
    identity = provider.answer_identity()
    assert identity["params"]["profile"] == provider.profile.identity()
    assert "timeout_s" not in identity["params"]["profile"]


def test_a_missing_browser_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.delenv("EVALBOOK_CHROMIUM", raising=False)
    with pytest.raises(ConfigError, match="apt-get install chromium") as info:
        find_chromium()
    assert "playwright install" in str(info.value)  # … says it is never used
    monkeypatch.setenv("EVALBOOK_CHROMIUM", "/nonexistent/chrome")
    with pytest.raises(ConfigError, match="EVALBOOK_CHROMIUM names '/nonexistent/chrome'"):
        find_chromium()
    monkeypatch.setenv("EVALBOOK_CHROMIUM", "/usr/bin/chromium")
    assert find_chromium() == "/usr/bin/chromium"


def test_a_missing_playwright_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright.async_api", None)
    with pytest.raises(ConfigError, match=r"pip install 'evalbook\[browser\]'"):
        require_playwright()


def test_what_can_be_typed_into_a_page() -> None:
    config = resolve_config(ModelConfig(provider="browser", name="x", params={"profile": SITE}))
    provider = BrowserProvider(config)
    turns = provider.turns(
        [
            Message(role="system", content="Be brief."),
            Message(role="user", content="First\n  line"),
            Message(role="user", content="Second"),
        ]
    )
    assert turns == ["Be brief.\n\nFirst\n  line", "Second"]
    with pytest.raises(FatalProviderError, match="assistant turn"):
        provider.turns([Message(role="user", content="a"), Message(role="assistant", content="b")])
    image = ImagePart(media_type="image/png", data="AA==", sha256="0" * 64)
    with pytest.raises(FatalProviderError, match="images"):
        provider.turns([Message(role="user", content=[TextPart(text="see"), image])])
    strict = BrowserProvider(
        resolve_config(
            ModelConfig(
                provider="browser", name="x", params={"profile": {**SITE, "system": "refuse"}}
            )
        )
    )
    with pytest.raises(FatalProviderError, match="system: prepend"):
        strict.turns([Message(role="system", content="s"), Message(role="user", content="u")])


def test_page_failures_are_classified_like_http_ones() -> None:
    profile = BrowserProfile.model_validate(
        {**SITE, "rate_limited": {"selector": "x", "wait_s": 9}}
    )
    assert status_error(profile, 503, {}).kind == "transient"
    limited = status_error(profile, 429, {"retry-after": "4"})
    assert limited.kind == "rate_limit" and limited.retry_after == 4.0
    assert status_error(profile, 429, {}).retry_after == 9.0
    assert status_error(profile, 401, {}).__class__.__name__ == "AuthError"
    assert "navigation failed" in str(page_error(Exception("net::ERR_CONNECTION_REFUSED"), profile))


def test_load_profile_reports_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("url: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_profile(path)


def _broken_browser(tmp_path: Path) -> Path:
    """An "executable" that fails to start the way Chromium does without a display."""
    fake = tmp_path / "chromium"
    fake.write_text(
        "#!/bin/sh\n"
        'echo "[9:9:1204/090508.807958:ERROR:ui/ozone/x11.cc:257] Missing X server" >&2\n'
        "exit 1\n"
    )
    fake.chmod(0o755)
    return fake


def test_a_browser_that_does_not_start_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(tmp_path / "home"))
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump({**SITE, "chromium": str(_broken_browser(tmp_path))}))
    done = CliRunner().invoke(app, ["browser", "check", str(path)])
    assert done.exit_code != 0 and isinstance(done.exception, ConfigError)
    message = str(done.exception)
    assert f"the browser {tmp_path / 'chromium'} did not start: Missing X server" in message
    assert "apt-get install chromium" in message

    # The same in a run: it stops at once, recorded as failed with the reason, no case
    # scored.
    suite = load_suite_from_dict(
        {
            "id": "no-browser",
            "model": {"provider": "browser", "profile": yaml.safe_load(path.read_text())},
            "prompt": "hi {{ i }}",
            "cases": [{"vars": {"i": i}} for i in range(5)],
        }
    )
    store = Store.open(f"sqlite:///{tmp_path / 'runs.db'}")
    try:
        with pytest.raises(ConfigError, match="did not start: Missing X server"):
            evalbook.run(suite, store=store, concurrency=1)
        (run,) = store.list_runs()
    finally:
        store.close()
    assert run.status is RunStatus.failed and "did not start" in (run.stop_reason or "")
    assert run.counts.passed == run.counts.failed == 0


def test_a_headed_login_without_a_display_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(SITE))
    done = CliRunner().invoke(app, ["browser", "login", str(path), "--headed"])
    assert done.exit_code != 0 and isinstance(done.exception, ConfigError)
    assert "no display" in str(done.exception) and "--headless" in str(done.exception)
