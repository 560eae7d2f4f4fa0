"""Chat messages and their content parts, as sent to every provider."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Role = Literal["system", "user", "assistant"]


class ImagePart(BaseModel):
    """An image inlined as base64 data (suites never reference remote URLs)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["image"] = "image"
    media_type: str
    data: str  # base64
    sha256: str


class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["text"] = "text"
    text: str


ContentPart = TextPart | ImagePart


class Message(BaseModel):
    """One chat message; ``content`` is text, or parts when images are attached."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str | list[ContentPart]

    @property
    def text(self) -> str:
        """The text of the message, image parts left out."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


def messages_text(messages: list[Message]) -> str:
    """A flat, human-readable form of a conversation (the record's ``prompt`` field)."""
    if len(messages) == 1 and messages[0].role == "user":
        return messages[0].text
    return "\n\n".join(f"[{m.role}] {m.text}" for m in messages)
