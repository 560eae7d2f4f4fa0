"""Compare runs honestly: paired metrics with intervals and the right test, flips,
latency and consumption side by side, and every caveat said out loud.

The library behind ``evalbook compare``, the gate and the HTML report. Reads only the
columns it needs (``facts.py``), so two runs of 100,000 cases compare in about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from evalbook.analysis.compare.align import Alignment, align
from evalbook.analysis.compare.comparison import CaseKey, Comparison, MetricComparison, RunSide
from evalbook.analysis.compare.facts import ERROR, FloatArray, RunFacts, load_facts
from evalbook.analysis.compare.flips import find_flips
from evalbook.analysis.compare.latency import latency_summary, shared_edges, usage_summary
from evalbook.core.run import RunRecord, RunStatus
from evalbook.errors import UserError
from evalbook.stats.paired import DEFAULT_RESAMPLES, DEFAULT_SEED, PairedTest, paired_stat
from evalbook.storage.store import Store

__all__ = ["compare_facts", "compare_many", "compare_runs", "run_side"]


def compare_runs(
    store: Store,
    baseline: str | RunRecord,
    candidate: str | RunRecord,
    *,
    confidence: float = 0.95,
    numeric_test: PairedTest = PairedTest.wilcoxon,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """Baseline vs candidate (run records, ids or unique id prefixes)."""
    run_a = store.get_run(baseline) if isinstance(baseline, str) else baseline
    run_b = store.get_run(candidate) if isinstance(candidate, str) else candidate
    if run_a.id == run_b.id:
        raise UserError(f"run {run_a.id} is compared with itself; give two different runs")
    # One after the other: loading is sqlite3 building Python objects under the GIL, and
    # two threads made it twice as slow (measured), not faster.
    return compare_facts(
        load_facts(store, run_a),
        load_facts(store, run_b),
        confidence=confidence,
        numeric_test=numeric_test,
        seed=seed,
        resamples=resamples,
    )


def compare_many(
    store: Store, runs: Sequence[str | RunRecord], **options: object
) -> list[Comparison]:
    """The first run against each of the others (``compare A B C`` → A↔B, A↔C)."""
    if len(runs) < 2:
        raise UserError("compare needs at least two runs")
    base = store.get_run(runs[0]) if isinstance(runs[0], str) else runs[0]
    return [compare_runs(store, base, other, **options) for other in runs[1:]]  # type: ignore[arg-type]


def compare_facts(
    a: RunFacts,
    b: RunFacts,
    *,
    confidence: float = 0.95,
    numeric_test: PairedTest = PairedTest.wilcoxon,
    seed: int = DEFAULT_SEED,
    resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """The comparison of two runs already loaded as columns (no I/O)."""
    al = align(a, b)
    options = {
        "confidence": confidence,
        "numeric_test": numeric_test,
        "seed": seed,
        "resamples": resamples,
    }

    def metric(
        key: str, kind: str, name: str, va: FloatArray, vb: FloatArray, hib: bool = True
    ) -> MetricComparison:
        stat = asdict(paired_stat(va, vb, **options))  # type: ignore[arg-type]
        stat["test"] = str(stat["test"])
        return MetricComparison(key=key, kind=kind, name=name, higher_is_better=hib, **stat)

    # One rule with the run aggregates: a case errored in either run is in no paired mean.
    score_a, score_b = a.score[al.a], b.score[al.b]
    scored = np.isfinite(score_a) & np.isfinite(score_b)
    neither_errored = (a.status[al.a] != ERROR) & (b.status[al.b] != ERROR)
    pass_a = a.passed[al.a].astype(np.float64)
    pass_b = b.passed[al.b].astype(np.float64)
    metrics = [
        metric("score", "run", "score", score_a[scored], score_b[scored]),
        metric("pass_rate", "run", "pass rate", pass_a[neither_errored], pass_b[neither_errored]),
    ]
    warnings = _warnings(a, b, al)
    for name in sorted(set(a.scorers) & set(b.scorers)):
        col_a, col_b = a.scorers[name], b.scorers[name]
        va, vb = col_a.scores[al.a], col_b.scores[al.b]
        both = np.isfinite(va) & np.isfinite(vb)
        hib = col_a.higher_is_better
        if col_b.higher_is_better != hib:
            warnings.append(f"scorer {name!r} changed direction (higher_is_better) between runs")
        metrics.append(metric(name, "scorer", name, va[both], vb[both], hib))
    sections = a.sections[al.a]
    for section in sorted({s for s in sections.tolist() if s is not None}):
        mask = (sections == section) & scored
        metrics.append(
            metric(f"section:{section}", "section", section, score_a[mask], score_b[mask])
        )
    regressions, fixes = find_flips(a, b, al.a, al.b)
    edges = shared_edges(a.latency, b.latency)
    return Comparison(
        baseline=run_side(a, edges),
        candidate=run_side(b, edges),
        confidence=confidence,
        paired=al.size,
        only_in_baseline=[CaseKey(case_id=c, epoch=e) for c, e in al.only_a],
        only_in_candidate=[CaseKey(case_id=c, epoch=e) for c, e in al.only_b],
        warnings=warnings,
        metrics=metrics,
        latency_edges=edges,
        regressions=regressions,
        fixes=fixes,
    )


def run_side(facts: RunFacts, edges: list[float]) -> RunSide:
    """What a run is and what it consumed; latency binned on ``edges``."""
    run = facts.run
    return RunSide(
        id=run.id,
        title=run.title,
        created_at=run.created_at,
        suite_id=run.suite_id,
        suite_hash=run.suite_hash,
        prompt=run.prompt_name,
        prompt_version=run.prompt_version,
        model=f"{run.model.get('provider')}:{run.model.get('name')}",
        alias=run.alias,
        served_builds=facts.served,
        latency=latency_summary(facts.latency, edges),
        usage=usage_summary(facts),
        derived=dict(run.metrics.get("derived") or {}),
    )


def _warnings(a: RunFacts, b: RunFacts, al: Alignment) -> list[str]:
    ra, rb = a.run, b.run
    out = []
    if ra.suite_id != rb.suite_id:
        out.append(f"the runs are of different suites ({ra.suite_id!r} vs {rb.suite_id!r})")
    elif ra.suite_hash != rb.suite_hash:
        out.append(
            f"suite {ra.suite_id!r} changed between the runs (hash {ra.suite_hash[:12]} →"
            f" {rb.suite_hash[:12]}): cases, references or scorers may differ"
        )
    if al.only_a or al.only_b:
        out.append(
            f"{len(al.only_a)} case(s) only in the baseline and {len(al.only_b)} only in the"
            f" candidate; compared on the {al.size} both have"
        )
    for run in (ra, rb):
        if run.status is not RunStatus.completed:
            out.append(f"run {run.id[:8]} is {run.status.value}: its results may be partial")
    for name in sorted(set(a.scorers) ^ set(b.scorers)):
        which = "baseline" if name in a.scorers else "candidate"
        out.append(f"scorer {name!r} is only in the {which}; not compared")
    if ra.alias and ra.alias == rb.alias and a.served and b.served and a.served != b.served:
        out.append(
            f"alias {ra.alias!r} resolved to a different served model build:"
            f" {', '.join(a.served)} → {', '.join(b.served)}"
        )
    return out
