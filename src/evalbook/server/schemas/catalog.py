"""Suites and prompts on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from evalbook.core.messages import Message
from evalbook.core.suite import Case
from evalbook.server.schemas.common import Page

__all__ = [
    "PromptOut",
    "PromptPage",
    "PromptVersionOut",
    "SuiteDefinitionOut",
    "SuiteOut",
    "SuitePage",
    "SuiteVersionOut",
]


class SuiteVersionOut(BaseModel):
    """One immutable version of a suite: its content hash names exactly these cases."""

    suite_id: str
    version: str
    hash: str
    name: str
    case_count: int
    created_at: datetime


class SuiteDefinitionOut(SuiteVersionOut):
    """A suite version with its whole definition (cases, prompt versions, scorers)."""

    definition: dict[str, Any]


class SuiteOut(BaseModel):
    """A suite and its versions, oldest first; ``latest_version`` is the one a run gets
    when it names none."""

    id: str
    name: str
    latest_version: str
    versions: list[SuiteVersionOut]


class SuitePage(Page[SuiteOut]):
    pass


class CasePage(Page[Case]):
    """Cases of a suite version, in suite order."""

    total: int


class PromptVersionOut(BaseModel):
    name: str
    version: int
    hash: str
    system: str | None
    messages: list[Message]
    created_at: datetime


class PromptOut(BaseModel):
    """A prompt (from the workspace's suites and runs) and its version numbers."""

    name: str
    versions: list[int]
    latest: int


class PromptPage(Page[PromptOut]):
    pass
