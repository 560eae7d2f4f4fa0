"""Read latency of the API's list/get endpoints over a large database.

    python benchmarks/bench_server.py                       # 1,000,000 result rows, SQLite
    python benchmarks/bench_server.py --rows 100000         # smaller
    python benchmarks/bench_server.py --database-url postgresql://127.0.0.1/bench

The database is filled with ``rows`` results (runs of 500 cases with one score each,
cloned from one real run of the ``mock`` model), then the server runs under uvicorn on a
local socket and each endpoint is asked ``--requests`` times, one request at a time, for
random runs and cases. Printed: p50 / p99 / max in milliseconds per endpoint. The target
is p99 ≤ 50 ms for every list/get endpoint. (The filling time is printed too; it is not
part of the target.)
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from seeded import serve

import evalbook
from evalbook.core.identity import stable_uuid
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

CASES = 500
TARGET_P99_MS = 50.0


def _template_run(store: Store) -> tuple[Any, list[Any]]:
    suite = load_suite_from_dict(
        {
            "id": "bench",
            "version": "1",
            "model": {"provider": "mock", "name": "echo"},
            "prompt": "answer {{ i }}: {{ text }}",
            "scorers": [{"contains": "7"}],
            "cases": [
                {"id": f"case-{i:04d}", "vars": {"i": i, "text": "lorem ipsum " * 8}}
                for i in range(CASES)
            ],
        }
    )
    run = evalbook.run(suite, store=store)
    return run, list(store.iter_results(run.id))


def fill(store: Store, rows: int) -> list[str]:
    """Clone one real run until ``rows`` results exist; the run ids."""
    template, results = _template_run(store)
    ids = [template.id]
    started = time.perf_counter()
    while len(ids) * CASES < rows:
        run_id = str(uuid.uuid4())
        store.insert_run(template.model_copy(update={"id": run_id, "alias": None}))
        batch = []
        for seq, r in enumerate(results):
            rid = stable_uuid(run_id, r.case_id, str(r.epoch))
            batch.append((r.model_copy(update={"id": rid, "run_id": run_id}), seq))
        store.save_results(batch)
        ids.append(run_id)
        if len(ids) % 200 == 0:
            done = len(ids) * CASES
            rate = done / (time.perf_counter() - started)
            print(f"  filled {done:,} rows ({rate:,.0f} rows/s)", flush=True)
    return ids


def measure(base: str, run_ids: list[str], requests: int) -> dict[str, list[float]]:
    rng = random.Random(7)
    endpoints = {
        "GET /api/runs?limit=50": lambda: "/api/runs?limit=50",
        "GET /api/runs?suite=…&status=…": lambda: "/api/runs?suite=bench&status=completed",
        "GET /api/runs/{id}": lambda: f"/api/runs/{rng.choice(run_ids)}",
        "GET /api/runs/{id}/results?limit=50": lambda: (
            f"/api/runs/{rng.choice(run_ids)}/results?limit=50"
        ),
        "GET /api/runs/{id}/results?failed_only": lambda: (
            f"/api/runs/{rng.choice(run_ids)}/results?failed_only=true&limit=50"
        ),
        "GET /api/runs/{id}/results/{case}": lambda: (
            f"/api/runs/{rng.choice(run_ids)}/results/case-{rng.randrange(CASES):04d}"
        ),
        "GET /api/runs/{id}/metrics": lambda: f"/api/runs/{rng.choice(run_ids)}/metrics",
        "GET /api/evals": lambda: "/api/evals",
        "GET /api/evals/{id} (500 results)": lambda: f"/api/evals/{rng.choice(run_ids)}",
    }
    timings: dict[str, list[float]] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for name, path in endpoints.items():
            for _ in range(5):  # warm up
                client.get(path()).raise_for_status()
            samples = []
            for _ in range(requests):
                url = path()
                t0 = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - t0) * 1000)
                response.raise_for_status()
            timings[name] = samples
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = Store.open(url)
        t0 = time.perf_counter()
        run_ids = fill(store, args.rows)
        print(f"filled {len(run_ids) * CASES:,} result rows in {time.perf_counter() - t0:.0f} s")
        if store.dialect == "postgresql":  # what autovacuum does after a bulk load
            with store.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
        base, server, thread = serve(store)
        try:
            timings = measure(base, run_ids, args.requests)
        finally:
            server.should_exit = True
            thread.join(10)
            store.close()
    print(f"\n{len(run_ids) * CASES:,} results, {args.requests} requests each (ms)")
    print(f"{'endpoint':44} {'p50':>8} {'p99':>8} {'max':>8}")
    worst = 0.0
    for name, samples in timings.items():
        p50, p99 = np.percentile(samples, [50, 99])
        worst = max(worst, float(p99))
        flag = "ok" if p99 <= TARGET_P99_MS else "OVER"
        print(f"{name:44} {p50:8.1f} {p99:8.1f} {max(samples):8.1f}  {flag}")
    print(f"worst p99: {worst:.1f} ms (target ≤ {TARGET_P99_MS:g} ms)")


if __name__ == "__main__":
    main()
