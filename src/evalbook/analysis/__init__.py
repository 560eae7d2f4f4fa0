"""Analysis: compare runs honestly, and read a suite's history.

- :func:`compare_runs` — two runs case by case: paired metrics with intervals, p-values
  and effect sizes, flips, latency and consumption, warnings;
- :func:`case_diff` / :func:`word_diff` — word-level diffs of outputs and prompts;
- :func:`trend` / :func:`sparkline` — one metric over a suite's runs;
- :func:`alias_groups` — runs by alias, with served-build drift;
- :func:`estimate_noise` — run-to-run noise from A/A runs;
- :func:`resolve_run` — ``latest``, ``alias:NAME`` or an id.

Each name is imported on first use (PEP 562): a command that needs one part (the gate's
noise file, a trend) does not load numpy and the comparison machinery with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalbook.analysis.compare.comparison import Comparison, Flip, MetricComparison
    from evalbook.analysis.compare.diffs import CaseDiff, case_diff, word_diff
    from evalbook.analysis.compare.runs import compare_facts, compare_many, compare_runs
    from evalbook.analysis.history.aliases import AliasGroup, alias_groups, latest_by_alias
    from evalbook.analysis.history.noise import NoiseEstimate, estimate_noise
    from evalbook.analysis.history.trends import Trend, sparkline, trend
    from evalbook.stats.paired import PairedTest
    from evalbook.storage.run_refs import resolve_run

_WHERE = {
    "AliasGroup": "evalbook.analysis.history.aliases",
    "CaseDiff": "evalbook.analysis.compare.diffs",
    "Comparison": "evalbook.analysis.compare.comparison",
    "Flip": "evalbook.analysis.compare.comparison",
    "MetricComparison": "evalbook.analysis.compare.comparison",
    "NoiseEstimate": "evalbook.analysis.history.noise",
    "PairedTest": "evalbook.stats.paired",
    "Trend": "evalbook.analysis.history.trends",
    "alias_groups": "evalbook.analysis.history.aliases",
    "case_diff": "evalbook.analysis.compare.diffs",
    "compare_facts": "evalbook.analysis.compare.runs",
    "compare_many": "evalbook.analysis.compare.runs",
    "compare_runs": "evalbook.analysis.compare.runs",
    "estimate_noise": "evalbook.analysis.history.noise",
    "latest_by_alias": "evalbook.analysis.history.aliases",
    "resolve_run": "evalbook.storage.run_refs",
    "sparkline": "evalbook.analysis.history.trends",
    "trend": "evalbook.analysis.history.trends",
    "word_diff": "evalbook.analysis.compare.diffs",
}

__all__ = [
    "AliasGroup",
    "CaseDiff",
    "Comparison",
    "Flip",
    "MetricComparison",
    "NoiseEstimate",
    "PairedTest",
    "Trend",
    "alias_groups",
    "case_diff",
    "compare_facts",
    "compare_many",
    "compare_runs",
    "estimate_noise",
    "latest_by_alias",
    "resolve_run",
    "sparkline",
    "trend",
    "word_diff",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'evalbook.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
