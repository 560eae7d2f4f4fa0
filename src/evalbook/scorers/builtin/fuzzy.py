"""Edit-distance similarity with the reference: levenshtein and fuzzy (rapidfuzz).

For answers that should be the reference give or take a typo, where ``equals`` is too
strict and token or n-gram metrics too coarse. Both are normalised to [0, 1] (1 =
identical) and pass at 0.8 unless a threshold is set. Two empty texts are identical
(1.0) for every method, whatever rapidfuzz's convention for that method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein as _Levenshtein
from rapidfuzz.utils import default_process

from evalbook.core.suite import ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome
from evalbook.scorers.builtin.reference import TextReferenceScorer, best

__all__ = ["Fuzzy", "Levenshtein"]


class LevenshteinOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case_sensitive: bool = True
    strip: bool = True
    #: Pass on the raw edit distance instead (at most this many edits), as promptfoo's
    #: ``levenshtein`` assertion does; the score stays the normalised similarity.
    max_distance: int | None = Field(default=None, ge=0)


class Levenshtein(TextReferenceScorer):
    """``1 - edit distance / length of the longer text`` (rapidfuzz's
    ``Levenshtein.normalized_similarity``): one typo in a ten-letter word scores 0.9.
    With ``max_distance`` the verdict is ``edits <= max_distance`` instead."""

    default_threshold: ClassVar[float] = 0.8
    Options: ClassVar[type[BaseModel]] = LevenshteinOptions
    options: LevenshteinOptions

    def _prepare(self, text: str) -> str:
        if self.options.strip:
            text = text.strip()
        return text if self.options.case_sensitive else text.casefold()

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        output = self._prepare(ctx.output or "")
        scores = [
            float(_Levenshtein.normalized_similarity(output, self._prepare(ref))) for ref in refs
        ]
        value, why = best(scores, refs, "Levenshtein similarity")
        limit = self.options.max_distance
        if limit is None:
            return ScoreOutcome(score=value, rationale=why)
        edits = min(int(_Levenshtein.distance(output, self._prepare(ref))) for ref in refs)
        return ScoreOutcome(
            score=value,
            passed=edits <= limit,
            rationale=f"{edits} edit(s), at most {limit} allowed; {why}",
            evidence={"details": {"distance": edits, "max_distance": limit}},
        )


_METHODS: dict[str, Callable[..., float]] = {
    "ratio": fuzz.ratio,
    "partial-ratio": fuzz.partial_ratio,
    "token-sort-ratio": fuzz.token_sort_ratio,
    "token-set-ratio": fuzz.token_set_ratio,
}


class FuzzyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: rapidfuzz's scorer: ``ratio`` (whole texts), ``partial-ratio`` (the best-matching
    #: substring of the longer text), ``token-sort-ratio`` (word order ignored),
    #: ``token-set-ratio`` (word order and repeated words ignored).
    method: Literal["ratio", "partial-ratio", "token-sort-ratio", "token-set-ratio"] = "ratio"
    #: rapidfuzz's ``default_process``: lower-case, non-alphanumerics to spaces, trim.
    process: bool = True


class Fuzzy(TextReferenceScorer):
    """rapidfuzz's fuzzy ratio (Indel distance; see ``method``) divided by 100, on texts
    lower-cased and stripped of punctuation unless ``process: false``."""

    default_threshold: ClassVar[float] = 0.8
    Options: ClassVar[type[BaseModel]] = FuzzyOptions
    options: FuzzyOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._method = _METHODS[self.options.method]

    def _similarity(self, output: str, ref: str) -> float:
        if self.options.process:
            output, ref = default_process(output), default_process(ref)
        if not output or not ref:
            return float(output == ref)
        return float(self._method(output, ref)) / 100.0

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        output = ctx.output or ""
        value, why = best([self._similarity(output, ref) for ref in refs], refs, "fuzzy ratio")
        return ScoreOutcome(score=value, rationale=why)
