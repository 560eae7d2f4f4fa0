"""The price table: known models, dated snapshots, free providers, unknown is None."""

from __future__ import annotations

import pytest

from evalbook.core.model_config import ModelConfig, Price
from evalbook.providers.pricing import lookup_price
from evalbook.providers.registry import create_provider


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o-mini", (0.15, 0.60)),
        ("openai", "gpt-4o-mini-2024-07-18", (0.15, 0.60)),
        ("openai", "gpt-4o", (2.50, 10.00)),
        ("openai", "gpt-4.1-nano", (0.10, 0.40)),
        ("openai", "o3-mini", (1.10, 4.40)),
        ("anthropic", "claude-3-5-haiku-20241022", (0.80, 4.00)),
        ("anthropic", "claude-3-5-sonnet-latest", (3.00, 15.00)),
        ("anthropic", "claude-sonnet-4-20250514", (3.00, 15.00)),
        ("anthropic", "claude-opus-4", (15.00, 75.00)),
    ],
)
def test_known_models(provider: str, model: str, expected: tuple[float, float]) -> None:
    assert lookup_price(provider, model) == Price(
        input_per_mtok=expected[0], output_per_mtok=expected[1]
    )


@pytest.mark.parametrize("provider", ["local", "mock", "python", "ollama"])
def test_own_machine_providers_are_free(provider: str) -> None:
    assert lookup_price(provider, "anything") == Price(input_per_mtok=0, output_per_mtok=0)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-9"),
        ("openai", "gpt-4o-mini-custom"),  # not a dated snapshot: a different model
        ("anthropic", "claude-opus-4-1-20250805"),  # not claude-opus-4
        ("openai-compatible", "gpt-4o"),  # someone else's server: unknown
        ("vllm", "llama"),
        ("anthropic", "gpt-4o"),
    ],
)
def test_unknown_is_none_not_zero(provider: str, model: str) -> None:
    assert lookup_price(provider, model) is None


def test_a_configured_price_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    price = Price(input_per_mtok=1, output_per_mtok=2)
    config = ModelConfig(provider="openai", name="gpt-4o", price=price)
    assert create_provider(config).price() == price
