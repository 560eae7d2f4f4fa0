"""Site profiles: how to talk to a chat page, as data (a YAML file or a suite's mapping).

A profile names the page (``url``), how each case gets a fresh conversation
(``new_chat``: a selector to click, or ``reload``), where the message goes (``input``,
``send``), where answers appear (``response``: the newest match is the answer), and how
to tell an answer is finished (``streaming`` marker gone, text stable for
``done.settle_ms``). ``login_required`` and ``rate_limited`` selectors classify the page's
state. Only what shapes the answers is the profile's identity (cache keys); timeouts,
pages, pacing, login and the browser's path are transport.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evalbook.core.identity import short_hash
from evalbook.errors import ConfigError

__all__ = [
    "BrowserProfile",
    "DoneRule",
    "LoginForm",
    "RateLimitRule",
    "load_profile",
    "profile_from_data",
]

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLUG = re.compile(r"[^a-z0-9_.-]+")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DoneRule(_Spec):
    """When an answer is finished: a new message appeared, the ``streaming`` marker (if
    the profile names one) is gone, and the text has not changed for ``settle_ms``."""

    settle_ms: int = Field(default=800, ge=0, le=120_000)
    #: An empty new message is not an answer yet (a bubble shown before the first token).
    require_text: bool = True


class RateLimitRule(_Spec):
    """A page state meaning "slow down": wait ``wait_s``, or the seconds the banner's text
    gives when ``wait_pattern`` (a regex with one group) finds them."""

    selector: str = Field(min_length=1)
    wait_s: float = Field(default=60.0, ge=0, le=3600)
    wait_pattern: str | None = r"(\d+(?:\.\d+)?)\s*(?:s\b|sec|second)"

    @field_validator("wait_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    def wait_from(self, banner: str) -> float:
        """Seconds to wait, read from the banner's text when the pattern finds a number."""
        if self.wait_pattern:
            found = re.search(self.wait_pattern, banner, re.IGNORECASE)
            if found:
                try:
                    return float(found.group(1) if found.groups() else found.group(0))
                except ValueError:
                    pass
        return self.wait_s


class LoginForm(_Spec):
    """How ``evalbook browser login`` fills a login form where no display exists: the
    credentials come from the environment variables named here (never from the file)."""

    url: str | None = None
    username: str = Field(min_length=1, description="selector of the user-name field")
    password: str = Field(min_length=1, description="selector of the password field")
    submit: str = Field(default="Enter", min_length=1)
    username_env: str
    password_env: str

    @field_validator("username_env", "password_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError("must be the NAME of an environment variable, never the value")
        return value


class BrowserProfile(_Spec):
    """One website's chat page; see the module docstring and ``docs/browser.md``."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str
    new_chat: str = Field(default="reload", min_length=1)
    input: str = Field(min_length=1)
    send: str = Field(default="Enter", min_length=1)
    response: str = Field(min_length=1)
    streaming: str | None = None
    done: DoneRule = Field(default_factory=DoneRule)
    login_required: str | None = None
    rate_limited: RateLimitRule | None = None
    login: LoginForm | None = None
    #: A system message has no place on a chat page: put it before the first user
    #: message (``prepend``, separated by a blank line) or refuse the case.
    system: Literal["prepend", "refuse"] = "prepend"
    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_pages: int = Field(default=1, ge=1, le=32)
    rpm: float | None = Field(default=None, gt=0)
    chromium: str | None = None
    trace_on_failure: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// address")
        return value

    @field_validator("rate_limited", mode="before")
    @classmethod
    def _selector_string(cls, value: Any) -> Any:
        return {"selector": value} if isinstance(value, str) else value

    @property
    def display_name(self) -> str:
        return self.name or (urlsplit(self.url).hostname or "site")

    @property
    def slug(self) -> str:
        """A file-name-safe name for the saved login state of this site."""
        base = _SLUG.sub("-", self.display_name.lower()).strip("-.") or "site"
        return f"{base[:60]}-{short_hash('browser-site', {'url': self.url})[:8]}"

    def identity(self) -> dict[str, Any]:
        """What the answers depend on: the page and how it is driven."""
        return self.model_dump(
            mode="json",
            include={"url", "new_chat", "input", "send", "response", "streaming", "done", "system"},
        )

    def as_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def profile_from_data(data: Any, source: str) -> BrowserProfile:
    """A validated profile; problems name ``source`` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a site profile is a mapping (url, input, response, …)")
    try:
        return BrowserProfile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(profile)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{source}: invalid site profile: {problems}") from None


def load_profile(path: str | Path, *, base_dir: Path | None = None) -> BrowserProfile:
    """Read a profile file (YAML or JSON); a relative path not found as given is looked
    for beside the suite (``base_dir``)."""
    candidate = Path(path).expanduser()
    if not candidate.is_file() and base_dir is not None and not candidate.is_absolute():
        beside = base_dir / candidate
        if beside.is_file():
            candidate = beside
    try:
        text = candidate.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(
            f"site profile {str(path)!r} cannot be read ({exc.strerror or exc}); a browser"
            " model is 'browser:path/to/site.yaml'"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{candidate}: not valid YAML: {exc}") from None
    return profile_from_data(data, str(candidate))
