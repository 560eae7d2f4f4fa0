"""Web workspace page times at scale: a 100,000-case run among 1,000 runs.

    python benchmarks/bench_web.py                                   # SQLite, 100,000 cases
    python benchmarks/bench_web.py --database-url postgresql://127.0.0.1/test   # a fresh
                                          # database is created beside it and dropped after
    python benchmarks/bench_web.py --cases 20000 --runs 200          # smaller

The database gets two completed runs of ``--cases`` cases each (two scorers, ten
sections, 1 % errors, answers that differ on 10 % of the cases, a candidate that
regresses), written straight through ``Store.save_results``, and ``--runs`` − 2 small
completed runs cloned from one real run. The server then runs under uvicorn on a loopback
socket (no worker) and each page is asked ``--requests`` times, one request at a time,
after a short warm-up. Printed per page: p50 / p95 / max wall milliseconds of the whole
request (server time plus a loopback round trip) and the CPU milliseconds this process
spent per request (server and client; wall time on a loaded machine is a multiple of
it, CPU time is not). Target: p95 ≤ 150 ms.

The comparison: first the server's comparison service (``server/services.py``) computes
it ahead of time, as it does for every run that completes; its time is printed, then the
first look at ``/compare`` (from memory). Then the cold cost: a look with the cache
emptied (it reads both runs).
The board's one event stream per tab with twenty active runs is checked in a browser by
``tests/web/test_board_streams.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import sqlalchemy as sa
from seeded import serve, two_runs

import evalbook
from evalbook.analysis.compare.cache import clear_comparisons, is_cached
from evalbook.core.identity import stable_uuid
from evalbook.core.run import RunRecord
from evalbook.server.services import comparison_service
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

BATCH = 5000
TARGET_P95_MS = 150.0
PAGE = 20


def small_runs(store: Store, count: int) -> None:
    """``count`` finished runs of 10 cases, cloned from one real run of the mock model."""
    suite = load_suite_from_dict(
        {
            "id": "bench-small",
            "model": {"provider": "mock", "name": "echo"},
            "prompt": "answer {{ i }}",
            "scorers": [{"contains": "7"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(10)],
        }
    )
    template: RunRecord = evalbook.run(suite, store=store)
    results = list(store.iter_results(template.id))
    metrics = store.get_metrics(template.id)
    for _ in range(count - 1):
        run_id = str(uuid.uuid4())
        store.insert_run(template.model_copy(update={"id": run_id}))
        store.save_results(
            [
                (r.model_copy(update={"id": stable_uuid(run_id, r.case_id), "run_id": run_id}), s)
                for s, r in enumerate(results)
            ]
        )
        store.save_metrics(run_id, [{k: v for k, v in m.items() if k != "run_id"} for m in metrics])


def cpu_s() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def ahead(store: Store, a: str, b: str) -> float:
    """Seconds until the comparison service (started with the server) has compared ``a``
    with ``b``; waited out before the pages are measured, so nothing competes with them."""
    t0 = time.perf_counter()
    run_a, run_b = store.get_run(a), store.get_run(b)
    while not is_cached(store, run_a, run_b):
        time.sleep(0.05)
    return time.perf_counter() - t0


def measure(
    base: str, a: str, b: str, n: int, requests: int
) -> tuple[dict[str, Any], dict[str, float], float, float]:
    compare = f"/compare?runs={a},{b}"
    pages = {
        "/": "/",
        "/runs": "/runs",
        "/runs/{id} (first page)": f"/runs/{b}",
        "/runs/{id} (page 50)": f"/runs/{b}?after={PAGE * 49 - 1}",
        "/runs/{id}?failed=1": f"/runs/{b}?failed=1",
        "/compare?runs=A,B (flips)": compare,
        "/compare?runs=A,B&show=all": compare + "&show=all",
        "/compare?runs=A,B&show=different": compare + "&show=different",
        "/compare?…&case= (one diff)": compare + f"&case=case-{n // 2:06d}",
        "/api/compare/case (one diff)": f"/api/compare/case?baseline={a}&candidate={b}"
        + f"&case=case-{n // 3:06d}",
    }
    timings: dict[str, list[float]] = {}
    cpu: dict[str, float] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        t0 = time.perf_counter()
        client.get(compare).raise_for_status()
        first = (time.perf_counter() - t0) * 1000
        for name, path in pages.items():
            for _ in range(3):
                client.get(path).raise_for_status()
            samples = []
            c0 = cpu_s()
            for _ in range(requests):
                t1 = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - t1) * 1000)
                response.raise_for_status()
            cpu[name] = (cpu_s() - c0) * 1000 / requests
            timings[name] = samples
        clear_comparisons()
        t0 = time.perf_counter()
        client.get(compare).raise_for_status()
        cold = (time.perf_counter() - t0) * 1000
    return timings, cpu, first, cold


@contextlib.contextmanager
def database(url: str | None, tmp: str) -> Iterator[str]:
    """SQLite in ``tmp``, or a fresh PostgreSQL database next to ``url``'s (dropped after)."""
    if url is None or not url.startswith("postgresql"):
        yield url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    name = f"evalbook_bench_web_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, database(args.database_url, tmp) as url:
        store = Store.open(url)
        t0 = time.perf_counter()
        small_runs(store, args.runs - 2)
        a, b = two_runs(
            store,
            args.cases,
            suite_id="bench-web",
            seed=11,
            shift=-0.03,
            aliases=("bench-0", "bench-1"),
            changed_share=0.10,
        )
        print(
            f"stored {args.runs:,} runs ({args.cases:,} cases in each of the two compared)"
            f" in {time.perf_counter() - t0:.0f} s on {store.dialect}"
        )
        if store.dialect == "postgresql":  # what autovacuum does after a bulk load
            with store.engine.connect() as conn:
                conn.execute(sa.text("ANALYZE"))
        base, server, thread = serve(store, (comparison_service,))
        try:
            waited = ahead(store, a, b)
            timings, cpu, first, cold = measure(base, a, b, args.cases, args.requests)
        finally:
            server.should_exit = True
            thread.join(10)
            store.close()
    print(f"\n{args.requests} requests per page, one at a time (ms)")
    print(f"{'page':40} {'p50':>8} {'p95':>8} {'max':>8} {'cpu':>8}")
    worst = 0.0
    for name, samples in timings.items():
        p50, p95 = np.percentile(samples, [50, 95])
        worst = max(worst, float(p95))
        flag = "ok" if p95 <= TARGET_P95_MS else "OVER"
        print(f"{name:40} {p50:8.1f} {p95:8.1f} {max(samples):8.1f} {cpu[name]:8.1f}  {flag}")
    size = f"{args.cases:,} × {args.cases:,}"
    print(f"/compare of {size} computed ahead by the server in {waited:.1f} s after it started;")
    print(f"  the first look then: {first:.0f} ms; with the cache emptied (cold): {cold:.0f} ms")
    print(f"worst p95: {worst:.1f} ms (target ≤ {TARGET_P95_MS:g} ms)")


if __name__ == "__main__":
    main()
