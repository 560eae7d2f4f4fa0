"""What every scorer implements, and the values that cross that boundary."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.core.templating import is_template
from evalbook.scorers.builtin.extract import EXTRACT_KEY, Extraction, parse_extraction


def value_has_template(value: Any) -> bool:
    """Whether the scorer set renders ``value`` per case: a string, or strings in a list,
    holding Jinja. Scorers use it to prepare static values once in ``__init__``."""
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, list):
        return any(isinstance(v, str) and is_template(v) for v in value)
    return False


@dataclass(frozen=True)
class ScoreContext:
    """Everything a scorer may look at for one result.

    ``value`` is the spec's main argument with templates already rendered against the
    case's variables (``{{ expected }}`` works); ``None`` when the spec gave none. A static
    value is passed as the very object ``spec.value``, so a scorer may use what it
    prepared from it in ``__init__`` when ``ctx.value is self.spec.value``. (No
    ``slots``: the scorer set copies a context through its ``__dict__``.)
    """

    output: str | None
    case: Case
    value: Any = None
    output_structured: dict[str, Any] | None = None
    prompt: str | None = None
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    #: How a scorer that asks a model (a judge) calls it: the executor passes one that
    #: goes through its retries, response cache and connection limits.
    judge: JudgeCall | None = None

    @property
    def expected(self) -> Any:
        return self.case.expected

    @classmethod
    def of_answer(
        cls,
        output: str | None,
        case: Case,
        output_structured: dict[str, Any] | None,
        prompt: str | None,
        latency_ms: float | None,
        cost_usd: float | None,
        judge: JudgeCall | None,
    ) -> ScoreContext:
        """The context of a model's answer (no ``value``, no ``error``), made without the
        frozen dataclass's ``__init__`` and its ``object.__setattr__`` per field (a
        third of the cost: it is made for every result)."""
        ctx = object.__new__(cls)
        ctx.__dict__.update(
            output=output,
            case=case,
            value=None,
            output_structured=output_structured,
            prompt=prompt,
            latency_ms=latency_ms,
            cost_usd=cost_usd,
            error=None,
            judge=judge,
        )
        return ctx


@dataclass(frozen=True)
class JudgeReply:
    """A judge model's answer, with what it cost (``None`` when the price is unknown)."""

    text: str
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool = False


class JudgeCall(Protocol):
    """Ask ``config`` the ``messages``; ``scope`` names the judge template (cache scope)."""

    async def __call__(
        self, config: ModelConfig, messages: list[Message], *, scope: str
    ) -> JudgeReply: ...


@dataclass(frozen=True)
class ScoreOutcome:
    """A scorer's verdict. ``score`` in [0, 1] for built-ins; ``passed`` may be left
    ``None`` to let the threshold decide (``score >= threshold``).

    ``score=None`` means *awaiting* (a human has not reviewed yet): recorded with no
    score and ``passed=None``, which neither fails the case nor counts in any mean.
    A scorer with :meth:`Scorer.parts` returns one outcome per part in ``parts``
    (``score`` is then ignored); ``usage`` is what its own model calls cost.
    """

    score: float | None
    passed: bool | None = None
    label: str | None = None
    rationale: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, ScoreOutcome] | None = None
    usage: Usage | None = None


@dataclass(frozen=True)
class Usage:
    """Tokens and dollars a scorer spent on its own model calls."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None


@dataclass(frozen=True)
class Part:
    """One record of a multi-record scorer (a rubric criterion): its name, weight and
    threshold (on the normalised [0, 1] score)."""

    name: str
    weight: float = 1.0
    threshold: float | None = None


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Scorer(ABC):
    """Turns (case, output) into a score.

    Subclasses declare ``kind`` (the seed's scorer type), ``Options`` (a pydantic model
    with ``extra="forbid"`` validating ``spec.config``) and implement :meth:`score`, sync or
    async. ``__init__`` validates the spec and raises ``ValueError`` with a plain message
    on bad config; the suite loader adds the suite, case and scorer to it. A sync
    :meth:`score` is preferred for cheap checks: the scorer set then creates no coroutine.

    The ``extract`` option belongs to every scorer, not to ``Options``: ``__init__``
    parses it into :attr:`extraction`, and the scorer set applies it to the output
    before calling :meth:`score` (see ``extract.py``).
    """

    kind: ClassVar[ScorerKind] = ScorerKind.heuristic
    higher_is_better: ClassVar[bool] = True
    default_threshold: ClassVar[float] = 1.0
    #: Whether the spec's ``value`` is required (``contains`` needs a needle …).
    requires_value: ClassVar[bool] = False
    #: Whether the case must carry ``expected`` when no value is given.
    uses_expected: ClassVar[bool] = False
    #: False for checks without an argument (``is-sql``): a value given to one is a
    #: mistake, often an unknown option in ``{is-sql: {dialect: x}}``, and is refused.
    takes_value: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = NoOptions
    #: The parsed ``extract`` option; ``None`` when the spec has none.
    extraction: Extraction | None = None

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec
        config = spec.config
        if EXTRACT_KEY in config:
            self.extraction = parse_extraction(config[EXTRACT_KEY], spec.type)
            config = {k: v for k, v in config.items() if k != EXTRACT_KEY}
        try:
            self.options: Any = self.Options.model_validate(config)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'options'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ValueError(f"scorer {spec.type!r} has bad options: {problems}") from None
        if self.requires_value and spec.value is None and not self.uses_expected:
            raise ValueError(f"scorer {spec.type!r} needs a value")
        if not self.takes_value and spec.value is not None:
            raise ValueError(
                f"scorer {spec.type!r} takes no value, got {spec.value!r}"
                f" (options: {', '.join(self.Options.model_fields) or 'none'})"
            )

    @property
    def record_name(self) -> str:
        """The name its score records carry (a judge of one named criterion uses it)."""
        return self.spec.metric_name

    @property
    def threshold(self) -> float:
        return self.spec.threshold if self.spec.threshold is not None else self.default_threshold

    def meets_threshold(self, score: float) -> bool:
        """``score`` passes the effective threshold in the scorer's direction."""
        if self.higher_is_better:
            return score >= self.threshold
        return score <= self.threshold

    def passes(self, outcome: ScoreOutcome) -> bool:
        """The verdict: a spec threshold overrides the scorer's own ``passed``; a scorer
        that leaves ``passed`` unset is judged by the threshold alone."""
        if self.spec.threshold is None and outcome.passed is not None:
            return outcome.passed
        return outcome.score is not None and self.meets_threshold(outcome.score)

    def reference(self, ctx: ScoreContext) -> Any:
        """The rendered ``value``, or the case's ``expected`` for scorers that use it."""
        if ctx.value is not None or not self.uses_expected:
            return ctx.value
        return ctx.expected

    def check_case(self, case: Case) -> None:
        """Raise ``ValueError`` when ``case`` lacks what this scorer needs.

        Called by the suite loader for every (case, scorer) pair, so that a missing reference
        fails the load with the case named instead of failing 100k results at run time.
        """
        if self.uses_expected and self.spec.value is None and case.expected is None:
            raise ValueError(
                f"case {case.id!r} has no expected value, which scorer"
                f" {self.spec.metric_name!r} needs"
            )

    def parts(self) -> tuple[Part, ...]:
        """The records this scorer writes per result when more than one (a judge's
        criteria); empty for the usual single record named after the spec."""
        return ()

    def judge_models(self) -> tuple[ModelConfig, ...]:
        """The models one scoring of a case asks, one call each (a judge, a panel's
        judges); none for a scorer that asks no model. The pre-flight estimate counts
        them (``executor/estimate.py``)."""
        return ()

    def judge_messages(self, ctx: ScoreContext) -> list[Message]:
        """What each of :meth:`judge_models` is asked for ``ctx`` (the estimate renders
        it with an empty output to measure the judge's prompt)."""
        return []

    @abstractmethod
    def score(self, ctx: ScoreContext) -> ScoreOutcome | Awaitable[ScoreOutcome]:
        """Score one result."""
