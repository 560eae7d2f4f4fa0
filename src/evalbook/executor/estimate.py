"""What a run would cost, before it is launched (the launch sheet's pre-flight estimate,
``POST /api/runs/estimate``: one implementation for both).

Input tokens are counted from rendered prompts (a sample of at most ``SAMPLE`` cases,
scaled to the whole plan) at about four characters a token; output tokens have two
figures: the worst case (every answer runs to ``max_tokens``) and, when earlier runs of
the same suite with the same model config recorded their tokens, what those runs averaged.

Judges are counted apart (:class:`JudgeEstimate`, one per judge model): the calls the
suite's judge scorers make per case (a panel asks each of its judges) × epochs, each
judge prompt measured by rendering it for the sampled cases with an empty answer, then
adding the model's answer (at ``max_tokens`` for the worst case, at the earlier runs'
mean for the typical one); the judge's own answer is counted at its ``max_tokens``. A
price nobody knows stays unknown (``None``), never 0, and so does every total it is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from evalbook.core.messages import messages_text
from evalbook.core.model_config import ModelConfig, Price
from evalbook.core.run import RunOptions
from evalbook.core.suite import Case, Suite
from evalbook.errors import ConfigError, TemplateError
from evalbook.executor.launch import resolve_model
from evalbook.prompts.render import (
    missing_variables_everywhere,
    render_messages,
    template_context,
)
from evalbook.providers.base import cost_usd
from evalbook.providers.pricing import lookup_price
from evalbook.providers.registry import PROVIDERS
from evalbook.scorers.base import ScoreContext
from evalbook.scorers.scorer_set import ScorerSet
from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["SAMPLE", "Estimate", "JudgeEstimate", "estimate_run"]

#: Cases rendered to measure prompt length (evenly spaced over the suite).
SAMPLE = 200
CHARS_PER_TOKEN = 4


def _sum(figures: list[float | None]) -> float | None:
    """The sum, or ``None`` when any figure is unknown."""
    return None if any(f is None for f in figures) else float(sum(f or 0.0 for f in figures))


@dataclass(frozen=True)
class JudgeEstimate:
    """One judge model's calls over the whole run."""

    model: str
    calls: int
    #: The judge prompts with every answer at the model's ``max_tokens``.
    input_tokens: int
    #: Every verdict at the judge's ``max_tokens``.
    max_output_tokens: int
    price: Price | None
    cost_max: float | None
    #: With the answers at the earlier runs' mean; ``None`` without history or price.
    cost_typical: float | None


@dataclass(frozen=True)
class Estimate:
    cases: int
    epochs: int
    items: int
    model: str
    prompt_version: int
    input_tokens: int
    max_output_tokens: int
    #: Mean output tokens per item of earlier runs (same suite and model config).
    typical_output_tokens: float | None
    history_runs: int
    price: Price | None
    #: Input plus every answer at ``max_tokens``; ``None`` when the price is unknown.
    cost_max: float | None
    #: Input plus the earlier runs' mean output; ``None`` without history or price.
    cost_typical: float | None
    max_cost: float | None
    #: The judges' calls, one entry per judge model (none: the suite asks no judge).
    judges: tuple[JudgeEstimate, ...] = ()

    @property
    def judge_calls(self) -> int:
        return sum(j.calls for j in self.judges)

    @property
    def judge_price_known(self) -> bool:
        return all(j.price is not None for j in self.judges)

    @property
    def judge_cost_max(self) -> float | None:
        return _sum([j.cost_max for j in self.judges])

    @property
    def judge_cost_typical(self) -> float | None:
        return _sum([j.cost_typical for j in self.judges])

    @property
    def total_cost_max(self) -> float | None:
        """The model's and the judges' worst case; ``None`` when a price is unknown."""
        return _sum([self.cost_max, self.judge_cost_max])

    @property
    def total_cost_typical(self) -> float | None:
        return _sum([self.cost_typical, self.judge_cost_typical])

    @property
    def over_budget(self) -> bool:
        """Whether even the typical cost (else the worst case) passes ``max_cost``: the
        total when every price is known, else what is known (as the run's budget counts
        it: a judge of unknown price adds nothing to it)."""
        if self.max_cost is None:
            return False
        for figure in (
            self.total_cost_typical,
            self.total_cost_max,
            self.cost_typical,
            self.cost_max,
        ):
            if figure is not None:
                return figure > self.max_cost
        return False


def _history(store: Store, suite_id: str, model_hash: str) -> tuple[float | None, int]:
    c = t.runs.c
    query = (
        sa.select(c.output_token_count, c.total_count)
        .where(
            c.suite_id == suite_id,
            c.model_hash == model_hash,
            c.status == "completed",
            c.output_token_count.is_not(None),
            c.total_count > 0,
        )
        .order_by(c.created_at.desc())
        .limit(5)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return None, 0
    tokens = sum(r.output_token_count for r in rows)
    items = sum(r.total_count for r in rows)
    return tokens / items, len(rows)


def estimate_run(
    store: Store,
    suite: Suite,
    *,
    model: ModelConfig | str | None = None,
    prompt_version: int | None = None,
    options: RunOptions | None = None,
) -> Estimate:
    """The estimate for the run ``prepare_run`` would record with the same arguments;
    the same problems (unknown prompt version, case ids, provider, missing variables)
    raise the same errors, and nothing is recorded."""
    options = options or RunOptions()
    config = resolve_model(suite, model)
    if config.provider not in PROVIDERS:
        PROVIDERS.get(config.provider)  # raises with "did you mean"
    try:
        version = suite.prompt.get(prompt_version)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    try:
        cases = suite.select(options.case_ids)
    except KeyError as exc:
        raise ConfigError(str(exc.args[0])) from None
    missing = missing_variables_everywhere(version, cases)
    if missing:
        raise TemplateError(
            f"prompt {suite.prompt.name!r} v{version.version} uses"
            f" {', '.join(sorted(missing))}, which no selected case defines",
            variable=sorted(missing)[0],
        )
    try:
        scorers = ScorerSet.build(suite.scorers)
    except ValueError as exc:
        raise ConfigError(f"suite {suite.id!r}: {exc}") from None
    step = max(1, len(cases) // SAMPLE)
    sample = cases[::step][:SAMPLE]
    chars = 0
    rendered = 0
    judge_chars = _JudgeChars()
    for case in sample:
        try:
            messages = render_messages(version, case, system_prompt=config.system_prompt)
        except TemplateError:
            continue  # that case will be an error, not a model call
        chars += sum(len(m.text) for m in messages)
        rendered += 1
        judge_chars.measure(scorers, case, messages_text(messages))
    per_case = chars / rendered / CHARS_PER_TOKEN if rendered else 0.0
    items = len(cases) * options.epochs
    input_tokens = round(per_case * items)
    max_tokens = config.max_tokens or 4096
    max_output = max_tokens * items
    typical, runs = _history(store, suite.id, config.hash)
    price = config.price or lookup_price(config.provider, config.name)
    cost_max = cost_usd(price, input_tokens, max_output)
    cost_typical = (
        cost_usd(price, input_tokens, round(typical * items)) if typical is not None else None
    )
    judges = _judges(scorers, cases, options.epochs, judge_chars, max_tokens, typical)
    return Estimate(
        cases=len(cases),
        epochs=options.epochs,
        items=items,
        model=config.spec,
        prompt_version=version.version,
        input_tokens=input_tokens,
        max_output_tokens=max_output,
        typical_output_tokens=typical,
        history_runs=runs,
        price=price,
        cost_max=cost_max,
        cost_typical=cost_typical,
        max_cost=options.max_cost,
        judges=judges,
    )


class _JudgeChars:
    """Characters of each judge model's prompt, summed over the sampled cases."""

    def __init__(self) -> None:
        self.chars: dict[str, int] = {}
        self.seen: dict[str, int] = {}

    def measure(self, scorers: ScorerSet, case: Case, prompt: str) -> None:
        ctx = ScoreContext(output="", case=case, prompt=prompt)
        try:
            calls = scorers.for_case(case).judge_calls(ctx, template_context(case))
        except TemplateError:
            return  # that case's judge fails; counted with the others' mean
        for model, messages in calls:
            self.chars[model.hash] = self.chars.get(model.hash, 0) + len(messages_text(messages))
            self.seen[model.hash] = self.seen.get(model.hash, 0) + 1

    def per_call(self, model: ModelConfig) -> float:
        seen = self.seen.get(model.hash, 0)
        return self.chars.get(model.hash, 0) / seen / CHARS_PER_TOKEN if seen else 0.0


def _judges(
    scorers: ScorerSet,
    cases: Sequence[Case],
    epochs: int,
    chars: _JudgeChars,
    max_tokens: int,
    typical: float | None,
) -> tuple[JudgeEstimate, ...]:
    """Every judge model's calls over the run: per case (its own scorers included), per
    epoch."""
    shared = scorers.judge_models()
    calls: dict[str, int] = {}
    models: dict[str, ModelConfig] = {}
    for case in cases:
        for model in scorers.for_case(case).judge_models() if case.scorers else shared:
            calls[model.hash] = calls.get(model.hash, 0) + epochs
            models.setdefault(model.hash, model)
    out = []
    for key, n in calls.items():
        model = models[key]
        prompt = chars.per_call(model)
        price = model.price or lookup_price(model.provider, model.name)
        verdicts = (model.max_tokens or 4096) * n
        worst_in = round((prompt + max_tokens) * n)
        typical_in = round((prompt + typical) * n) if typical is not None else None
        out.append(
            JudgeEstimate(
                model=model.spec,
                calls=n,
                input_tokens=worst_in,
                max_output_tokens=verdicts,
                price=price,
                cost_max=cost_usd(price, worst_in, verdicts),
                cost_typical=cost_usd(price, typical_in, verdicts),
            )
        )
    return tuple(out)
