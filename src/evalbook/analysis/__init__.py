"""Analysis: compare runs honestly, and read a suite's history.

- :func:`compare_runs` — two runs case by case: paired metrics with intervals, p-values
  and effect sizes, flips, latency and consumption, warnings;
- :func:`case_diff` / :func:`word_diff` — word-level diffs of outputs and prompts;
- :func:`trend` / :func:`sparkline` — one metric over a suite's runs;
- :func:`alias_groups` — runs by alias, with served-build drift;
- :func:`estimate_noise` — run-to-run noise from A/A runs;
- :func:`resolve_run` — ``latest``, ``alias:NAME`` or an id.
"""

from evalbook.analysis.aliases import AliasGroup, alias_groups, latest_by_alias
from evalbook.analysis.compare import compare_facts, compare_many, compare_runs
from evalbook.analysis.diffs import CaseDiff, case_diff, word_diff
from evalbook.analysis.models import Comparison, Flip, MetricComparison
from evalbook.analysis.noise import NoiseEstimate, estimate_noise
from evalbook.analysis.refs import resolve_run
from evalbook.analysis.stats import PairedTest
from evalbook.analysis.trends import Trend, sparkline, trend

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
