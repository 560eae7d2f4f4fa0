"""evalbook: a system of record for LLM evaluation runs.

Define a suite, run it against a model and a prompt version, keep every run, compare and
gate. The names below are the public Python API; everything else is internal.

They are imported on first use (PEP 562), so that ``import evalbook`` and the command
line start quickly and load the database, statistics and provider libraries only when
something needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalbook._version import __version__
    from evalbook.api import (
        apairwise,
        arescore,
        aresume,
        arun,
        compare,
        get_run,
        open_store,
        pairwise,
        rescore,
        results,
        resume,
        run,
    )
    from evalbook.core import (
        Case,
        Message,
        ModelConfig,
        Prompt,
        PromptVersion,
        Result,
        ResultStatus,
        RunRecord,
        RunStatus,
        ScorerKind,
        ScorerSpec,
        Suite,
    )
    from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
    from evalbook.providers.registry import provider
    from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
    from evalbook.scorers.registry import scorer
    from evalbook.suites import load_suite

_WHERE = {
    "__version__": "evalbook._version",
    "Case": "evalbook.core",
    "GenerateRequest": "evalbook.providers.base",
    "GenerateResponse": "evalbook.providers.base",
    "Message": "evalbook.core",
    "ModelConfig": "evalbook.core",
    "Prompt": "evalbook.core",
    "PromptVersion": "evalbook.core",
    "Provider": "evalbook.providers.base",
    "Result": "evalbook.core",
    "ResultStatus": "evalbook.core",
    "RunRecord": "evalbook.core",
    "RunStatus": "evalbook.core",
    "ScoreContext": "evalbook.scorers.base",
    "ScoreOutcome": "evalbook.scorers.base",
    "Scorer": "evalbook.scorers.base",
    "ScorerKind": "evalbook.core",
    "ScorerSpec": "evalbook.core",
    "Suite": "evalbook.core",
    "apairwise": "evalbook.api",
    "arescore": "evalbook.api",
    "aresume": "evalbook.api",
    "arun": "evalbook.api",
    "compare": "evalbook.api",
    "get_run": "evalbook.api",
    "load_suite": "evalbook.suites",
    "open_store": "evalbook.api",
    "pairwise": "evalbook.api",
    "provider": "evalbook.providers.registry",
    "rescore": "evalbook.api",
    "results": "evalbook.api",
    "resume": "evalbook.api",
    "run": "evalbook.api",
    "scorer": "evalbook.scorers.registry",
}

__all__ = [
    "Case",
    "GenerateRequest",
    "GenerateResponse",
    "Message",
    "ModelConfig",
    "Prompt",
    "PromptVersion",
    "Provider",
    "Result",
    "ResultStatus",
    "RunRecord",
    "RunStatus",
    "ScoreContext",
    "ScoreOutcome",
    "Scorer",
    "ScorerKind",
    "ScorerSpec",
    "Suite",
    "__version__",
    "apairwise",
    "arescore",
    "aresume",
    "arun",
    "compare",
    "get_run",
    "load_suite",
    "open_store",
    "pairwise",
    "provider",
    "rescore",
    "results",
    "resume",
    "run",
    "scorer",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'evalbook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
