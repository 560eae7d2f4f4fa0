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
from pathlib import Path

from seeded import two_runs


def build(db: Path, n: int) -> tuple[str, str]:
    """Two completed runs of ``n`` cases each, with their aggregates; returns their ids."""
    from evalbook.storage.store import Store

    store = Store.open(f"sqlite:///{db}")
    try:
        return two_runs(
            store,
            n,
            suite_id="bench-compare",
            seed=7,
            shift=-0.05,
            aliases=("bench", "bench"),
            cached_share=0.05,
        )
    finally:
        store.close()


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
