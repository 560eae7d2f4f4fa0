"""Seed 000's story as data: a summarisation suite whose prompt v4 scores 0.81, v5 0.84 on
concision but 0.72 on faithfulness, and v6 fixes faithfulness.

Every number is known: the mock ``echo`` model answers with the rendered prompt, which
carries the case's scores for that prompt version; two scorers named ``faithfulness`` and
``concision`` read them back (threshold 0.7 each). They are registered only inside
:func:`seed_scorers` (the registry is global; other tests list every registered scorer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import evalbook
from evalbook.core.run import RunRecord
from evalbook.core.suite import Suite
from evalbook.scorers import SCORERS
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

N = 120
# version → (faithfulness mean, concision mean); per-case offsets average to 0.
MEANS = {4: (0.85, 0.77), 5: (0.72, 0.84), 6: (0.85, 0.83)}
OFFSETS = {4: (-0.05, 0.05), 5: (-0.04, 0.0, 0.04), 6: (0.03, -0.03)}


def _read(output: str | None, name: str) -> float:
    match = re.search(rf"{name}=([0-9.]+)", output or "")
    return float(match.group(1)) if match else 0.0


def faithfulness(ctx: evalbook.ScoreContext) -> float:
    return _read(ctx.output, "faith")


def concision(ctx: evalbook.ScoreContext) -> float:
    return _read(ctx.output, "concise")


_depth = 0


@contextmanager
def seed_scorers() -> Iterator[None]:
    """The two judges registered for the duration (nestable)."""
    global _depth
    if _depth == 0:
        evalbook.scorer(name="faithfulness", threshold=0.7)(faithfulness)
        evalbook.scorer(name="concision", threshold=0.7)(concision)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            SCORERS.unregister("faithfulness")
            SCORERS.unregister("concision")


def case_scores(version: int, i: int) -> tuple[float, float]:
    faith, concise = MEANS[version]
    offsets = OFFSETS[version]
    d = offsets[i % len(offsets)]
    return round(faith + d, 4), round(concise - d, 4)


def summary_suite(n: int = N, versions: tuple[int, ...] = (4, 5, 6)) -> Suite:
    cases = []
    for i in range(n):
        variables: dict[str, Any] = {"i": i}
        for v in versions:
            f, c = case_scores(v, i)
            variables[f"f{v}"], variables[f"c{v}"] = f"{f:.4f}", f"{c:.4f}"
        cases.append({"id": f"doc-{i:03d}", "vars": variables, "section": f"part-{i % 2}"})
    prompt_versions = {
        v: {"template": f"Summarise document {{{{ i }}}} (v{v}). faith={{{{ f{v} }}}}"
            f" concise={{{{ c{v} }}}}"}
        for v in versions
    }  # fmt: skip
    return load_suite_from_dict(
        {
            "id": "summaries",
            "name": "Summaries",
            "threshold": 0.75,
            "model": "mock:echo",
            "prompt": {"name": "summarise", "versions": prompt_versions},
            "scorers": ["faithfulness", "concision"],
            "cases": cases,
        }
    )


async def seed_runs(
    store: Store, versions: tuple[int, ...] = (4, 5), n: int = N, **options: Any
) -> dict[int, RunRecord]:
    with seed_scorers():
        suite = summary_suite(n)
        return {
            v: await evalbook.arun(suite, store=store, prompt_version=v, **options)
            for v in versions
        }
