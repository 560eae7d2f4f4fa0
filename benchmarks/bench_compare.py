"""Comparison speed: two runs of 100,000 cases each, compared case by case.

    python benchmarks/bench_compare.py              # 100,000 cases (the target: ≤ 3 s)
    python benchmarks/bench_compare.py --n 20000
    python benchmarks/bench_compare.py --db /tmp/x/bench.db   # compare again, no rebuild

The two runs are written straight through ``Store.save_results`` in batches (no model
calls) into a temporary SQLite database: two scorers per case, ten sections, 1 % errors,
5 % cached, a candidate that regresses on one scorer. The comparison then runs in a fresh
subprocess, so its wall time and peak RSS are its own; the figures printed are the wall
time of ``compare_runs`` (imports excluded and shown apart), the peak RSS, and the RSS the
comparison added on top of the imported interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BATCH = 5000


def build(db: Path, n: int) -> tuple[str, str]:
    """Two completed runs of ``n`` cases each, with their aggregates; returns their ids."""
    import numpy as np

    from evalbook.core.result import Result, ResultStatus, ScoreRecord
    from evalbook.core.run import RunStatus
    from evalbook.core.suite import ScorerKind
    from evalbook.executor.aggregate import summarize
    from evalbook.executor.launch import prepare_run
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict

    store = Store.open(f"sqlite:///{db}")
    suite = load_suite_from_dict(
        {"id": "bench-compare", "name": "bench", "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}}]}
    )
    rng = np.random.default_rng(7)
    base_faith = rng.uniform(0.5, 1.0, n)
    base_conc = rng.uniform(0.4, 1.0, n)
    ids = []
    for version, shift in ((0, 0.0), (1, -0.05)):
        run = prepare_run(store, suite, model="mock:echo", alias="bench").run
        faith = np.clip(base_faith + shift + rng.normal(0, 0.05, n), 0, 1).round(4)
        conc = np.clip(base_conc + rng.normal(0, 0.05, n), 0, 1).round(4)
        errors = rng.random(n) < 0.01
        cached = rng.random(n) < 0.05
        latency = rng.lognormal(6.0, 0.5, n)
        now = datetime.now(UTC)
        batch: list[tuple[Result, int]] = []
        for i in range(n):
            err = bool(errors[i])
            f, c = float(faith[i]), float(conc[i])
            scores = [
                ScoreRecord(
                    scorer_id=f"s{k}", name=name, type=name, kind=ScorerKind.code,
                    score=None if err else value, passed=None if err else value >= 0.7,
                )
                for k, (name, value) in enumerate((("faithfulness", f), ("concision", c)))
            ]  # fmt: skip
            status = (
                ResultStatus.error
                if err
                else ResultStatus.passed
                if f >= 0.7 and c >= 0.7
                else ResultStatus.failed
            )
            result = Result(
                id=f"{run.id[:8]}-{i}",
                run_id=run.id,
                case_id=f"case-{i:06d}",
                status=status,
                section=f"section-{i % 10}",
                prompt=f"summarise document {i}",
                output=f"summary {i} v{version}",
                scores=scores,
                score=None if err else (f + c) / 2,
                latency_ms=0.0 if cached[i] else float(latency[i]),
                input_tokens=50,
                output_tokens=20,
                cost_usd=0.0,
                cached=bool(cached[i]),
                served_model="mock-echo",
                created_at=now,
            )
            batch.append((result, i))
            if len(batch) == BATCH:
                store.save_results(batch)
                batch = []
        store.save_results(batch)
        summary = summarize(store.result_facts(run.id), store.score_facts(run.id))
        store.save_metrics(run.id, summary.metric_rows)  # as a finished run has them
        run.status = RunStatus.completed
        run.counts = summary.counts
        run.score = summary.score
        run.metrics = summary.as_metrics()
        store.update_run(run)
        ids.append(run.id)
    store.close()
    return ids[0], ids[1]


def reuse(db: Path) -> tuple[str, str]:
    from evalbook.storage.store import Store

    store = Store.open(f"sqlite:///{db}")
    runs = store.list_runs(suite_id="bench-compare", limit=2)
    store.close()
    return runs[1].id, runs[0].id


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(db: str, a: str, b: str) -> dict[str, float | int]:
    t0 = time.perf_counter()
    import scipy.stats  # noqa: F401  (imported up front so its cost is shown apart)

    from evalbook.analysis import compare_runs
    from evalbook.storage.store import Store

    import_s = time.perf_counter() - t0
    store = Store.open(f"sqlite:///{db}")
    store.get_run(a)
    before = rss_mb()
    t1 = time.perf_counter()
    comparison = compare_runs(store, a, b)
    wall = time.perf_counter() - t1
    score = comparison.metric("score")
    return {
        "import_s": import_s,
        "wall_s": wall,
        "peak_rss_mb": rss_mb(),
        "added_rss_mb": rss_mb() - before,
        "paired": comparison.paired,
        "regressions": len(comparison.regressions),
        "fixes": len(comparison.fixes),
        "metrics": len(comparison.metrics),
        "score_diff": score.difference if score and score.difference is not None else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="Reuse a database built by an earlier run.")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("EVALBOOK_HOME", tempfile.mkdtemp())
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    if args.db:
        db = args.db
        a, b = reuse(db)
    else:
        db = Path(tempfile.mkdtemp()) / "bench.db"
        t0 = time.perf_counter()
        a, b = build(db, args.n)
        print(f"built two runs of {args.n:,} cases in {time.perf_counter() - t0:.1f} s ({db})")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(db), a, b],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        raise SystemExit(proc.stderr)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"compare {r['paired']:,} paired cases: {r['wall_s']:.2f} s wall"
        f" (imports {r['import_s']:.2f} s apart), peak RSS {r['peak_rss_mb']:.0f} MB"
        f" (+{r['added_rss_mb']:.0f} MB for the comparison)"
    )
    print(
        f"  {r['metrics']} metrics, {r['regressions']:,} regressions, {r['fixes']:,} fixes,"
        f" score difference {r['score_diff']:+.4f}"
    )
    print(f"  target ≤ 3 s: {'OK' if r['wall_s'] <= 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
