"""The python provider: the user's own function as the system under test."""

from __future__ import annotations

import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import evalbook
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, TransientError
from evalbook.providers import GenerateRequest, GenerateResponse, create_provider
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module in the working directory (not installed), named uniquely per test."""
    name = f"sut_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            import asyncio
            from evalbook.errors import TransientError
            from evalbook.providers import GenerateResponse

            def echo(prompt):
                return prompt.upper()

            async def everything(prompt, messages, vars, case_id, config):
                await asyncio.sleep(0)
                return {"output": f"{prompt}|{len(messages)}|{vars['x']}|{case_id}|{config.name}",
                        "structured": {"n": 1}, "input_tokens": 3, "output_tokens": 1}

            def kwargs_only(**kw):
                return ",".join(sorted(kw))

            def full(prompt):
                return GenerateResponse(text="full", served_model="mine")

            def boom(prompt):
                raise ValueError("bad input " + prompt)

            def retry_me(prompt):
                raise TransientError("flaky backend")

            def wrong_type(prompt):
                return 42

            def needs_question(question):
                return question

            class Bot:
                @staticmethod
                def reply(vars):
                    return "bot:" + vars["x"]
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


def _request(target: str, text: str = "hi", **variables: Any) -> GenerateRequest:
    config = ModelConfig(provider="python", name=target)
    return GenerateRequest(
        messages=[Message(role="user", content=text)],
        config=config,
        variables=variables,
        case_id="case-1",
    )


async def _call(target: str, text: str = "hi", **variables: Any) -> GenerateResponse:
    request = _request(target, text, **variables)
    return await create_provider(request.config).generate(request)


async def test_sync_function_gets_the_prompt(user_module: str) -> None:
    response = await _call(f"{user_module}:echo", "hello")
    assert response.text == "HELLO"
    assert response.served_model == f"{user_module}:echo"


async def test_async_function_gets_every_argument_it_names(user_module: str) -> None:
    response = await _call(f"{user_module}:everything", "q", x="7")
    assert response.text == f"q|1|7|case-1|{user_module}:everything"
    assert response.structured == {"n": 1}
    assert (response.input_tokens, response.output_tokens) == (3, 1)


async def test_kwargs_receive_all_and_attributes_resolve(user_module: str) -> None:
    assert (await _call(f"{user_module}:kwargs_only")).text == "case_id,config,messages,prompt,vars"
    assert (await _call(f"{user_module}:Bot.reply", x="y")).text == "bot:y"
    assert (await _call(f"{user_module}:full")).served_model == "mine"


async def test_user_exceptions_are_fatal_but_provider_errors_pass(user_module: str) -> None:
    with pytest.raises(FatalProviderError, match="ValueError: bad input hi"):
        await _call(f"{user_module}:boom")
    with pytest.raises(TransientError, match="flaky backend"):
        await _call(f"{user_module}:retry_me")
    with pytest.raises(FatalProviderError, match="returned int"):
        await _call(f"{user_module}:wrong_type")


def test_the_price_is_zero(user_module: str) -> None:
    provider = create_provider(ModelConfig(provider="python", name=f"{user_module}:echo"))
    price = provider.price()
    assert price is not None
    assert (price.input_per_mtok, price.output_per_mtok) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_such_module_xyz:f", "no_such_module_xyz"),
        ("{mod}:missing", "missing"),
        ("{mod}", "module.path:function"),
        ("{mod}:needs_question", "question"),
    ],
)
def test_bad_targets_are_config_errors_naming_them(
    user_module: str, target: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_provider(ModelConfig(provider="python", name=target.format(mod=user_module)))


def test_answers_that_read_the_case_are_cached_per_case(store: Store) -> None:
    """Two cases render the same prompt, but the function answers from their variables:
    the second must not be served the first's cached answer."""
    suite = load_suite_from_dict(
        {
            "id": "same-prompt",
            "model": {"provider": "python", "name": "tests.scorers.judge_fixtures:reply"},
            "prompt": "same words for every case",
            "scorers": ["non-empty"],
            "cases": [{"id": "a", "vars": {"reply": "one"}}, {"id": "b", "vars": {"reply": "two"}}],
        }
    )
    run = evalbook.run(suite, store=store)
    outputs = {r.case_id: r.output for r in store.iter_results(run.id)}
    assert outputs == {"a": "one", "b": "two"}
