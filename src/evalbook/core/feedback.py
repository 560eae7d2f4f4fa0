"""Human feedback on one result: a row appended to the record of a run, never edited.

A reviewer gives a score, a label, a comment or any mix of them, under a ``name`` (the
criterion reviewed; ``human`` by default). Correcting oneself is a new row: the summaries
read the latest row per (result, name, author), and every earlier row stays on record.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["MAX_COMMENT", "Feedback", "HumanVerdict", "latest_scores"]

#: The longest comment kept (characters); a review is a note, not a document.
MAX_COMMENT = 10_000


class Feedback(BaseModel):
    """One piece of human feedback on the result ``(run_id, case_id, epoch)``.

    ``score`` is kept as the reviewer gave it (in the human scorer's scale, when the run
    has one for this ``name``); summaries normalise it when they compare it with judges.
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    run_id: str
    result_id: str
    case_id: str
    epoch: int = Field(default=0, ge=0)
    name: str = Field(default="human", min_length=1, max_length=200)
    score: float | None = None
    label: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, min_length=1, max_length=MAX_COMMENT)
    author: str | None = Field(default=None, min_length=1, max_length=200)
    created_at: datetime

    @field_validator("score")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"a score must be a finite number, not {value}")
        return value

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a feedback name cannot be blank")
        return value

    @model_validator(mode="after")
    def _says_something(self) -> Feedback:
        if self.score is None and self.label is None and self.comment is None:
            raise ValueError("feedback needs a score, a label or a comment")
        return self


def latest_scores(rows: Iterable[Feedback]) -> list[Feedback]:
    """The latest *scored* row per (result, name, author), in time order: what means
    count, so a reviewer who corrects a score counts once. A later row without a score
    (a comment added afterwards) does not withdraw an earlier score. Anonymous rows
    share one author. ``rows`` must be oldest first."""
    latest: dict[tuple[str, str, str | None], Feedback] = {}
    for row in rows:
        if row.score is None:
            continue
        key = (row.result_id, row.name, row.author)
        latest.pop(key, None)  # re-insert, so that the dict stays in time order
        latest[key] = row
    return list(latest.values())


@dataclass(frozen=True)
class HumanVerdict:
    """What reviewers concluded on one result under one name: the mean of each
    reviewer's latest score, normalised to [0, 1] by the criterion's scale (``None`` when
    only labels or comments were given), the latest label, and every comment in order."""

    name: str
    score: float | None
    n: int
    label: str | None
    comments: tuple[str, ...]
    updated_at: datetime
