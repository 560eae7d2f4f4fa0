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


JUDGE_PRICE = {"input_per_mtok": 2.0, "output_per_mtok": 8.0}


def _judged(n: int = 10, case_panel: bool = False) -> evalbook.Suite:
    judge = {"provider": "mock", "name": "judge", "max_tokens": 100, "price": JUDGE_PRICE}
    cases: list[dict[str, object]] = [{"id": f"c{i}", "vars": {"word": "x" * 40}} for i in range(n)]
    if case_panel:
        cases[0]["scorers"] = [
            {
                "type": "llm-judge",
                "value": "Concise?",
                "panel": [
                    {"provider": "mock", "name": "judge", "max_tokens": 100, "price": JUDGE_PRICE},
                    "openai-compatible:unpriced@http://127.0.0.1:9/v1",
                ],
            }
        ]
    return load_suite_from_dict(
        {
            "id": "judged",
            "name": "Judged",
            "prompt": "Say {{ word }} please",
            "scorers": ["non-empty", {"type": "llm-judge", "value": "Polite?", "judge": judge}],
            "cases": cases,
        }
    )


def test_judge_calls_are_counted_apart_and_in_the_total(store: Store) -> None:
    e = estimate_run(store, _judged(), model=PRICED, options=RunOptions(epochs=3))
    (judge,) = e.judges
    assert judge.model == "mock:judge" and judge.calls == 30 == e.judge_calls
    assert judge.max_output_tokens == 100 * 30
    # The judge reads the prompt and the answer (at the model's max_tokens: 10) besides
    # its own instructions.
    per_case = len("Say " + "x" * 40 + " please") / 4
    assert judge.input_tokens > round((per_case + 10) * 30)
    assert judge.cost_max == pytest.approx((judge.input_tokens * 2.0 + 3000 * 8.0) / 1e6)
    assert e.judge_cost_max == judge.cost_max and e.judge_price_known
    assert e.total_cost_max == pytest.approx((e.cost_max or 0) + judge.cost_max)
    assert judge.cost_typical is None and e.total_cost_typical is None  # no history yet
    capped = estimate_run(
        store, _judged(), model=PRICED, options=RunOptions(epochs=3, max_cost=e.cost_max)
    )
    assert capped.over_budget  # the model alone fits; with the judge it does not
    assert store.list_runs() == []


def test_a_judge_of_unknown_price_leaves_the_total_unknown(store: Store) -> None:
    e = estimate_run(store, _judged(case_panel=True), model=PRICED)
    calls = {j.model: j.calls for j in e.judges}
    # Every case asks the suite's judge; c0 also asks a panel of two (one of them the same
    # judge model).
    assert calls == {"mock:judge": 11, "openai-compatible:unpriced": 1}
    assert not e.judge_price_known
    assert e.judge_cost_max is None and e.total_cost_max is None
    assert e.cost_max is not None  # the model's own cost is still known


async def test_history_gives_the_judges_a_typical_figure_too(store: Store) -> None:
    suite = _suite(4)
    await evalbook.arun(suite, model=PRICED, store=store)
    judged = suite.model_copy(update={"scorers": _judged().scorers})
    e = estimate_run(store, judged, model=PRICED)
    assert e.typical_output_tokens is not None
    (judge,) = e.judges
    assert judge.cost_typical is not None and judge.cost_typical <= (judge.cost_max or 0)
    assert e.total_cost_typical == pytest.approx((e.cost_typical or 0) + judge.cost_typical)
