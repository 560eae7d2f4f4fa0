"""``unsupported``: a check another tool's file asked for that evalbook cannot perform.

An importer that meets an assertion it cannot map (a promptfoo ``javascript`` assertion, a
custom OpenAI-evals class) keeps it in the suite as this scorer rather than dropping it,
so the suite never passes a case on a check that was never made. Every result it scores
is an error naming the tool, the feature, where it was written and why it was not mapped;
the original (source code included) stays in the spec for the user to port::

    - type: unsupported
      tool: promptfoo
      feature: javascript
      location: promptfooconfig.yaml:41
      reason: evalbook does not run JavaScript; port it to a python scorer
      original: {type: javascript, value: "output.length < 100"}

Replace it with an equivalent scorer, or delete it to run the suite without that check.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from evalbook.core.suite import ScorerKind
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer

__all__ = ["Unsupported", "UnsupportedCheck"]


class UnsupportedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: str
    feature: str
    reason: str
    location: str | None = None
    original: Any = None


class UnsupportedCheck(RuntimeError):
    """Raised for every result: the scorer set records it as a scorer error."""


class Unsupported(Scorer):
    """Errors on every result with the reason the check could not be imported."""

    kind: ClassVar[ScorerKind] = ScorerKind.code
    takes_value: ClassVar[bool] = False
    Options: ClassVar[type[BaseModel]] = UnsupportedOptions
    options: UnsupportedOptions

    @property
    def message(self) -> str:
        opts = self.options
        where = f" at {opts.location}" if opts.location else ""
        return (
            f"{opts.tool} {opts.feature!r}{where} was not imported: {opts.reason}."
            " Port it to an evalbook scorer or remove it from the suite"
        )

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        raise UnsupportedCheck(self.message)
