"""Generation kinds over HTTP (``POST /api/kinds``, ``GET /api/kinds``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from evalbook.server.schemas.common import Strict

__all__ = ["KindIn", "KindMessageIn", "KindOut", "TierOut"]


class KindMessageIn(Strict):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=100_000)


class KindIn(Strict):
    """A workspace's generation kind: a template (Jinja over the input's keys), default
    scorers (suite-file specs) and the model tier it runs on. Posting a changed body
    under the same name makes its next version."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.-]*$")
    description: str = Field(default="", max_length=2000)
    system: str | None = Field(default=None, max_length=100_000)
    messages: list[KindMessageIn] = Field(min_length=1, max_length=50)
    scorers: list[str | dict[str, Any]] = Field(default_factory=list, max_length=20)
    tier: str = Field(default="standard", pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    inputs: list[str] = Field(default_factory=list, max_length=50)


class KindOut(BaseModel):
    name: str
    version: int
    description: str
    system: str | None
    messages: list[dict[str, str]]
    scorers: list[str | dict[str, Any]]
    tier: str
    inputs: list[str]
    #: ``builtin`` (or a plugin's) or ``workspace``.
    source: Literal["builtin", "workspace"]


class TierOut(BaseModel):
    """A model tier of this server and the model it currently maps to."""

    name: str
    model: str
