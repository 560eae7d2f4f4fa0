"""Test utilities: a local OpenAI/Anthropic-compatible server for exercising providers.

Exports are resolved lazily so ``python -m evalbook.testing.openai_server`` does not import
the module twice (runpy warns when the package already imported it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalbook.testing.openai_server import (
        ALL_FAULT_KINDS,
        OpenAICompatibleTestServer,
        TestServerConfig,
        content_key,
        run_test_server_in_thread,
    )

__all__ = [
    "ALL_FAULT_KINDS",
    "OpenAICompatibleTestServer",
    "TestServerConfig",
    "content_key",
    "run_test_server_in_thread",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("evalbook.testing.openai_server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
