"""Reference answers as text, and the SQuAD metrics on them: exact-match and token-f1.

Every metric that compares the output with reference text (these two, bleu, chrf,
rouge, levenshtein, fuzzy, embedding-similarity, starts-with) reads its references the
same way, through :class:`TextReferenceScorer`: the spec's value, else the case's
``expected``; a string, a number, or a list of them (several acceptable answers, as
SQuAD has). The score is the best over the references, as in SQuAD's evaluation.
A static value is checked and prepared when the scorer is built, and a case whose
``expected`` is not text fails the suite load rather than every result.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from functools import lru_cache
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer, value_has_template

__all__ = [
    "ExactMatch",
    "TextReferenceScorer",
    "TokenF1",
    "best",
    "normalize_answer",
    "preview",
    "reference_texts",
    "token_f1",
]

_PREVIEW = 60
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)
_LEVELS = {
    1: "articles kept: SQuAD's normalisation would empty this reference",
    2: "only case and spacing ignored",
}


def preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…")


def normalize_answer(text: str) -> str:
    """SQuAD's answer normalisation: lower-case, remove punctuation, remove the articles
    a/an/the, collapse whitespace (the official evaluation script's order).

    One extension: besides ASCII punctuation (``string.punctuation``, as SQuAD), every
    Unicode punctuation character (category P*, e.g. ``«»``, ``。``, ``¿``) is removed, so
    non-English answers are not penalised for their quotation marks. On ASCII text the
    result is exactly SQuAD's.
    """
    text = text.lower().translate(_ASCII_PUNCTUATION)
    if not text.isascii():
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    return " ".join(_ARTICLES.sub(" ", text).split())


def _normalize_level(text: str, level: int) -> str:
    """Normalisation of strength ``level``: 0 SQuAD's; 1 without removing articles; 2 only
    case and spacing. See :func:`_reference_tokens`."""
    if level == 0:
        return normalize_answer(text)
    if level == 1:
        text = text.lower().translate(_ASCII_PUNCTUATION)
        if not text.isascii():
            text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
        return " ".join(text.split())
    return " ".join(text.casefold().split())


@lru_cache(maxsize=4096)
def _reference_tokens(reference: str) -> tuple[str, Counter[str], int, int]:
    """The normalised reference, its tokens, their count, and the normalisation level
    used. A normalisation must never erase a reference: when SQuAD's empties a non-empty
    one (the answer "A", or "The"), articles are kept; when that still empties it ("?"),
    only case and spacing are ignored. The output is then normalised at the same level,
    so "A. A. A." no longer equals "A"."""
    level = 0
    normalized = normalize_answer(reference)
    while not normalized and reference.strip() and level < 2:
        level += 1
        normalized = _normalize_level(reference, level)
    tokens = normalized.split()
    return normalized, Counter(tokens), len(tokens), level


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD's token F1 of the normalised texts (v2 script: two empty texts score 1)."""
    _, gold, gold_len, level = _reference_tokens(reference)
    pred = _normalize_level(prediction, level).split()
    if not pred or not gold_len:
        return float(len(pred) == gold_len)
    same = sum((Counter(pred) & gold).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / gold_len
    return 2 * precision * recall / (precision + recall)


def reference_texts(value: Any, scorer: str) -> tuple[str, ...]:
    """``value`` as a tuple of reference texts; ``ValueError`` when it is not text."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"scorer {scorer!r} has an empty list of references")
    texts = []
    for item in items:
        if isinstance(item, str):
            texts.append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            texts.append(str(item))
        else:
            raise ValueError(
                f"scorer {scorer!r} needs a text reference (or a list of them), not {item!r}"
            )
    return tuple(texts)


class TextReferenceScorer(Scorer):
    """A scorer comparing the output with one or more reference texts (see the module)."""

    kind: ClassVar[ScorerKind] = ScorerKind.reference_based
    uses_expected: ClassVar[bool] = True

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        self._static: tuple[str, ...] | None = None
        if spec.value is not None and not value_has_template(spec.value):
            self._static = reference_texts(spec.value, spec.type)

    def check_case(self, case: Case) -> None:
        super().check_case(case)
        if self.spec.value is None:
            try:
                reference_texts(case.expected, self.spec.metric_name)
            except ValueError as exc:
                raise ValueError(f"case {case.id!r}: {exc} (its expected)") from None

    def references(self, ctx: ScoreContext) -> tuple[str, ...]:
        """The references for this result (the prepared static value when unchanged)."""
        if self._static is not None and ctx.value is self.spec.value:
            return self._static
        reference = self.reference(ctx)
        if reference is None:
            raise ValueError(f"scorer {self.spec.metric_name!r} has no value and no expected")
        return reference_texts(reference, self.spec.metric_name)


def best(scores: list[float], refs: tuple[str, ...], what: str) -> tuple[float, str]:
    """The best score and a rationale naming the reference it was reached against."""
    index = max(range(len(scores)), key=scores.__getitem__)
    against = f"best of {len(refs)} references" if len(refs) > 1 else "against"
    return scores[index], f"{what} {scores[index]:.3f} {against} {preview(refs[index])}"


class ExactMatchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Pass when either normalised text contains the other (OpenAI evals' FuzzyMatch:
    #: ``"paris"`` in ``"it is paris"``); two texts of which one is empty must both be.
    either_contains: bool = False


class ExactMatch(TextReferenceScorer):
    """The output equals a reference after SQuAD normalisation (case, punctuation,
    articles and spacing ignored): ``"The Eiffel Tower."`` matches ``"eiffel tower"``.
    Stricter comparisons are ``equals``; looser ones ``token-f1``."""

    Options: ClassVar[type[BaseModel]] = ExactMatchOptions
    options: ExactMatchOptions

    def _matches(self, normalized: str, mine: str) -> bool:
        if normalized == mine:
            return True
        if not self.options.either_contains or not normalized or not mine:
            return False
        return normalized in mine or mine in normalized

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        output = ctx.output or ""
        got = normalize_answer(output)
        for ref in refs:
            normalized, _, _, level = _reference_tokens(ref)
            mine = got if level == 0 else _normalize_level(output, level)
            if self._matches(normalized, mine):
                kept = "" if level == 0 else f" ({_LEVELS[level]})"
                return ScoreOutcome(
                    score=1.0,
                    passed=True,
                    rationale=f"normalised output matches {preview(ref)}{kept}",
                )
        want = preview(refs[0]) if len(refs) == 1 else f"any of {len(refs)} references"
        shown = _normalize_level(output, _reference_tokens(refs[0])[3])
        return ScoreOutcome(
            score=0.0, passed=False, rationale=f"normalised {preview(shown)} does not match {want}"
        )


class TokenF1(TextReferenceScorer):
    """SQuAD's token F1 between the normalised output and the best reference, in [0, 1]:
    partial credit for a partly right answer. Passes at 0.5 unless a threshold is set."""

    default_threshold: ClassVar[float] = 0.5

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        output = ctx.output or ""
        value, why = best([token_f1(output, ref) for ref in refs], refs, "token F1")
        return ScoreOutcome(score=value, rationale=why)
