"""N-gram overlap with reference text: bleu and chrf (sacrebleu), rouge-1/2/l (rouge-score).

These are the reference libraries' own sentence-level scores, scaled to [0, 1], so a
number here is the number a paper computed with the same library and options. The
metric objects are built once per scorer (tokenisers and stemmers are not cheap).

``rouge-score`` imports NLTK (for the Porter stemmer, which needs no downloaded data;
``rougeLsum``, which needs NLTK's sentence tokeniser data, is not offered). NLTK takes
seconds to import, so it is imported when a rouge scorer is built, not with this module.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field
from sacrebleu.metrics.bleu import BLEU
from sacrebleu.metrics.chrf import CHRF

from evalbook.core.suite import ScorerSpec
from evalbook.scorers.base import ScoreContext, ScoreOutcome
from evalbook.scorers.builtin.reference import TextReferenceScorer, best

__all__ = ["Bleu", "Chrf", "Rouge1", "Rouge2", "RougeL"]


class BleuOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: sacrebleu's tokenisers that need nothing downloaded.
    tokenize: Literal["13a", "intl", "zh", "char", "none"] = "13a"
    lowercase: bool = False
    smooth_method: Literal["exp", "floor", "add-k", "none"] = "exp"
    smooth_value: float | None = Field(default=None, ge=0)


class _SacrebleuScorer(TextReferenceScorer):
    """A sacrebleu sentence metric on the 0–100 scale, reported in [0, 1]."""

    label: ClassVar[str]
    _metric: BLEU | CHRF

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        result = self._metric.sentence_score(ctx.output or "", list(refs))
        value = min(max(result.score / 100.0, 0.0), 1.0)
        rationale = f"{self.label} {value:.3f} ({len(refs)} reference(s))"
        return ScoreOutcome(score=value, rationale=rationale)


class Bleu(_SacrebleuScorer):
    """Sentence BLEU (sacrebleu, effective n-gram order, ``exp`` smoothing by default,
    as ``sacrebleu.sentence_bleu``) against all references at once, divided by 100.

    Sentence BLEU is noisy on short outputs; prefer chrf or token-f1 for short answers.
    Passes at 0.5 unless a threshold is set.
    """

    label = "BLEU"
    default_threshold: ClassVar[float] = 0.5
    Options: ClassVar[type[BaseModel]] = BleuOptions
    options: BleuOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        opts = self.options
        self._metric = BLEU(
            lowercase=opts.lowercase,
            tokenize=opts.tokenize,
            smooth_method=opts.smooth_method,
            smooth_value=opts.smooth_value,
            effective_order=True,
        )


class ChrfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    char_order: int = Field(default=6, ge=1)
    #: 2 gives chrF++.
    word_order: int = Field(default=0, ge=0)
    beta: int = Field(default=2, ge=1)
    lowercase: bool = False


class Chrf(_SacrebleuScorer):
    """Sentence chrF (sacrebleu; ``word_order: 2`` for chrF++) against all references,
    divided by 100: character n-grams, robust for short texts and rich morphology.
    Passes at 0.5 unless a threshold is set."""

    label = "chrF"
    default_threshold: ClassVar[float] = 0.5
    Options: ClassVar[type[BaseModel]] = ChrfOptions
    options: ChrfOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        opts = self.options
        self._metric = CHRF(
            char_order=opts.char_order,
            word_order=opts.word_order,
            beta=opts.beta,
            lowercase=opts.lowercase,
        )


class RougeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Porter-stem tokens first (``running`` ~ ``run``), rouge-score's ``use_stemmer``.
    stemmer: bool = False


class _Rouge(TextReferenceScorer):
    """ROUGE F-measure (Google's ``rouge-score``) against the best reference.

    rouge-score's tokeniser lower-cases and keeps only ASCII letters and digits, so
    non-Latin text scores 0 and accents split words (``café`` → ``caf``): use chrf for
    such text. Passes at 0.5 unless a threshold is set.
    """

    rouge_type: ClassVar[str]
    default_threshold: ClassVar[float] = 0.5
    Options: ClassVar[type[BaseModel]] = RougeOptions
    options: RougeOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        from rouge_score.rouge_scorer import RougeScorer

        self._metric: Any = RougeScorer([self.rouge_type], use_stemmer=self.options.stemmer)

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        output = ctx.output or ""
        scores = [float(self._metric.score(ref, output)[self.rouge_type].fmeasure) for ref in refs]
        value, why = best(scores, refs, f"{self.rouge_type} F")
        return ScoreOutcome(score=value, rationale=why)


class Rouge1(_Rouge):
    __doc__ = f"ROUGE-1 (unigram overlap). {_Rouge.__doc__}"
    rouge_type: ClassVar[str] = "rouge1"


class Rouge2(_Rouge):
    __doc__ = f"ROUGE-2 (bigram overlap). {_Rouge.__doc__}"
    rouge_type: ClassVar[str] = "rouge2"


class RougeL(_Rouge):
    __doc__ = f"ROUGE-L (longest common subsequence). {_Rouge.__doc__}"
    rouge_type: ClassVar[str] = "rougeL"
