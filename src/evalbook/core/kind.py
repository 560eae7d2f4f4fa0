"""Generation kinds: named, versioned generation templates (seed 004's "built-in
generation kinds"), the data that an input ``{"_kind": "summarize", "text": …}`` renders
through.

A kind is a system message and chat messages (Jinja, rendered with the input's other
keys), the scorers that judge its outputs by default, and the model tier it runs on.
Built-ins and plugins register under the entry-point group ``evalbook.kinds``; a
workspace (``POST /api/kinds``) or a suite file (``kinds:``) defines its own.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from evalbook.core.identity import content_hash

__all__ = ["KIND_NAME", "GenerationKind", "KindMessage"]

KIND_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")


class KindMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=100_000)


class GenerationKind(BaseModel):
    """One version of a generation kind."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(default=1, ge=1)
    description: str = Field(default="", max_length=2000)
    system: str | None = Field(default=None, max_length=100_000)
    messages: list[KindMessage] = Field(min_length=1, max_length=50)
    #: Default scorers of cases of this kind (suite-file scorer specs).
    scorers: list[str | dict[str, Any]] = Field(default_factory=list, max_length=20)
    #: The model tier the kind runs on when the request names no model.
    tier: str = Field(default="standard", pattern=r"^[a-z][a-z0-9_-]{0,39}$")
    #: Input keys the templates need (documentation, and a check before any call).
    inputs: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not KIND_NAME.match(value):
            raise ValueError("a kind name is lowercase letters, digits, '_', '.', '-'")
        return value

    def case_messages(self) -> list[dict[str, str]]:
        """The messages a case of this kind sends (templates, rendered per case)."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [m.model_dump() for m in self.messages]

    @property
    def hash(self) -> str:
        return content_hash("generation-kind", self.model_dump(mode="json", exclude={"version"}))
