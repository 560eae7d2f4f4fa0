"""The pre-flight estimate: tokens from rendered prompts, worst case and history, the
same validation as a launch, nothing recorded."""

from __future__ import annotations

import pytest

import evalbook
from evalbook.core.model_config import ModelConfig, Price
from evalbook.core.run import RunOptions
from evalbook.errors import ConfigError, TemplateError, UnknownNameError
from evalbook.executor.estimate import estimate_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

PRICED = ModelConfig(
    provider="mock",
    name="echo",
    max_tokens=10,
    price=Price(input_per_mtok=1.0, output_per_mtok=3.0),
)


def _suite(n: int = 10) -> evalbook.Suite:
    return load_suite_from_dict(
        {
            "id": "est",
            "name": "Estimate",
            "prompt": "Say {{ word }} please",
            "cases": [{"id": f"c{i}", "vars": {"word": "x" * 40}} for i in range(n)],
        }
    )


def test_worst_case_from_rendered_prompts(store: Store) -> None:
    e = estimate_run(store, _suite(), model=PRICED, options=RunOptions(epochs=3))
    assert (e.cases, e.epochs, e.items) == (10, 3, 30)
    per_case = len("Say " + "x" * 40 + " please") / 4
    assert e.input_tokens == round(per_case * 30)
    assert e.max_output_tokens == 300
    assert e.cost_max == pytest.approx((e.input_tokens * 1.0 + 300 * 3.0) / 1e6)
    assert e.typical_output_tokens is None and e.cost_typical is None
    assert store.list_runs() == []


async def test_history_gives_a_typical_figure(store: Store) -> None:
    suite = _suite(4)
    await evalbook.arun(suite, model=PRICED, store=store)
    e = estimate_run(store, suite, model=PRICED, options=RunOptions(max_cost=1e-9))
    assert e.history_runs == 1 and e.typical_output_tokens is not None
    assert e.cost_typical is not None and e.cost_typical <= (e.cost_max or 0)
    assert e.over_budget


def test_the_same_problems_as_a_launch(store: Store) -> None:
    with pytest.raises(ConfigError, match="9"):
        estimate_run(store, _suite(), model=PRICED, prompt_version=9)
    with pytest.raises(ConfigError):
        estimate_run(store, _suite(), model=PRICED, options=RunOptions(case_ids=["nope"]))
    with pytest.raises(UnknownNameError):
        estimate_run(store, _suite(), model=ModelConfig(provider="nosuch", name="m"))
    bad = load_suite_from_dict(
        {"id": "b", "name": "b", "prompt": "{{ missing }}", "cases": [{"id": "c", "vars": {}}]}
    )
    with pytest.raises(TemplateError):
        estimate_run(store, bad, model=PRICED)
    free = estimate_run(store, _suite(), model=ModelConfig(provider="mock", name="echo"))
    assert free.cost_max == 0.0
    unknown = ModelConfig(provider="openai-compatible", name="m", base_url="http://127.0.0.1:9/v1")
    unpriced = estimate_run(store, _suite(), model=unknown)
    assert unpriced.price is None and unpriced.cost_max is None
