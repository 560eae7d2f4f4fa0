"""What a run would cost, before it is launched (the launch sheet's pre-flight estimate).

Input tokens are counted from rendered prompts (a sample of at most ``SAMPLE`` cases,
scaled to the whole plan) at about four characters a token; output tokens have two
figures: the worst case (every answer runs to ``max_tokens``) and, when earlier runs of
the same suite with the same model config recorded their tokens, what those runs averaged.
Judges are not counted here (their price belongs to their own model config); the run's
``max_cost`` does count them while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from evalbook.core.model_config import ModelConfig, Price
from evalbook.core.run import RunOptions
from evalbook.core.suite import Suite
from evalbook.errors import ConfigError, TemplateError
from evalbook.executor.launch import resolve_model
from evalbook.prompts.render import missing_variables_everywhere, render_messages
from evalbook.providers.base import cost_usd
from evalbook.providers.pricing import lookup_price
from evalbook.providers.registry import PROVIDERS
from evalbook.storage import tables as t
from evalbook.storage.store import Store

__all__ = ["SAMPLE", "Estimate", "estimate_run"]

#: Cases rendered to measure prompt length (evenly spaced over the suite).
SAMPLE = 200
CHARS_PER_TOKEN = 4


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

    @property
    def over_budget(self) -> bool:
        """Whether even the typical cost (else the worst case) passes ``max_cost``."""
        if self.max_cost is None:
            return False
        figure = self.cost_typical if self.cost_typical is not None else self.cost_max
        return figure is not None and figure > self.max_cost


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
    step = max(1, len(cases) // SAMPLE)
    sample = cases[::step][:SAMPLE]
    chars = 0
    rendered = 0
    for case in sample:
        try:
            messages = render_messages(version, case, system_prompt=config.system_prompt)
        except TemplateError:
            continue  # that case will be an error, not a model call
        chars += sum(len(m.text) for m in messages)
        rendered += 1
    per_case = chars / rendered / CHARS_PER_TOKEN if rendered else 0.0
    items = len(cases) * options.epochs
    input_tokens = round(per_case * items)
    max_output = (config.max_tokens or 4096) * items
    typical, runs = _history(store, suite.id, config.hash)
    price = config.price or lookup_price(config.provider, config.name)
    cost_max = cost_usd(price, input_tokens, max_output)
    cost_typical = (
        cost_usd(price, input_tokens, round(typical * items)) if typical is not None else None
    )
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
    )
