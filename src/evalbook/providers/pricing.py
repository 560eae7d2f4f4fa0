"""List prices of well-known hosted models, so runs can show a cost without configuration.

Why a small table rather than a price feed: a run must be reproducible offline, and a wrong
guess is worse than no answer. Models not listed here get ``None`` (cost unknown), never 0;
users with other models set ``price`` on the model config. Providers that run on the user's
own machine (or only in tests) cost nothing and get an explicit zero.
"""

from __future__ import annotations

import re

from evalbook.core.model_config import Price

#: Prices in USD per million tokens (input, output), from the providers' public price pages
#: as of 2025-06-15. Keep the date in step when editing.
PRICE_TABLE_DATE = "2025-06-15"

_TABLE: dict[str, dict[str, tuple[float, float]]] = {
    "openai": {
        "gpt-4o": (2.50, 10.00),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4.1": (2.00, 8.00),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4-turbo": (10.00, 30.00),
        "gpt-3.5-turbo": (0.50, 1.50),
        "o1": (15.00, 60.00),
        "o3": (2.00, 8.00),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
    },
    "anthropic": {
        "claude-3-haiku": (0.25, 1.25),
        "claude-3-opus": (15.00, 75.00),
        "claude-3-5-haiku": (0.80, 4.00),
        "claude-3-5-sonnet": (3.00, 15.00),
        "claude-3-7-sonnet": (3.00, 15.00),
        "claude-sonnet-4": (3.00, 15.00),
        "claude-opus-4": (15.00, 75.00),
    },
}

#: Providers whose calls cost nothing: local weights, the mock, the user's own function.
FREE_PROVIDERS = frozenset({"local", "mock", "python", "ollama"})

_ZERO = Price(input_per_mtok=0.0, output_per_mtok=0.0)
# Dated snapshots and aliases of a listed model: gpt-4o-mini-2024-07-18,
# claude-3-5-sonnet-20241022, claude-3-5-haiku-latest.
_SNAPSHOT_SUFFIX = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def lookup_price(provider: str, model: str) -> Price | None:
    """The list price of ``model`` served by ``provider``; ``None`` when unknown.

    A model matches its exact name or that name plus a dated-snapshot suffix, so
    ``claude-opus-4-1-20250805`` is *not* priced as ``claude-opus-4`` (a different model).
    """
    if provider in FREE_PROVIDERS:
        return _ZERO
    table = _TABLE.get(provider)
    if table is None:
        return None
    prices = table.get(model) or table.get(_SNAPSHOT_SUFFIX.sub("", model))
    if prices is None:
        return None
    return Price(input_per_mtok=prices[0], output_per_mtok=prices[1])
