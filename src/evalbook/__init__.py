"""evalbook: a system of record for LLM evaluation runs.

Define a suite, run it against a model and a prompt version, keep every run, compare and
gate. The names below are the public Python API; everything else is internal.
"""

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
