"""Executor speed: N cases at concurrency C against the local test server (50 ms latency).

    python benchmarks/bench_executor.py                 # the standard scenarios
    python benchmarks/bench_executor.py --n 1000 --c 20 # one scenario
    python benchmarks/bench_executor.py --flat-memory   # 100,000 cases, RSS sampled as it goes

Prints wall time, the floor (= ceil(N/C) × latency), wall/floor, evalbook's CPU ms per case
and peak RSS. The test server runs in its own process so its CPU is not counted. Each
scenario runs in a fresh subprocess with a fresh SQLite database, so peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STANDARD = [
    {"n": 1000, "c": 20, "cached_rerun": True},
    {"n": 10000, "c": 100},
]


def start_server(latency_ms: float) -> tuple[subprocess.Popen[bytes], str]:
    port_file = Path(tempfile.mkdtemp()) / "port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalbook.testing.openai_server",
            "--port",
            "0",
            "--latency-ms",
            str(latency_ms),
            "--port-file",
            str(port_file),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def scenario(
    n: int, c: int, base_url: str, latency_ms: float, cached_rerun: bool, sample: bool
) -> dict[str, object]:
    """Runs in a child process: one suite of ``n`` cases, optionally a cached re-run."""
    import evalbook
    from evalbook.executor.events import ItemDone
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict

    suite = load_suite_from_dict(
        {
            "id": f"bench-{n}",
            "name": "bench",
            "model": {
                "provider": "openai-compatible",
                "name": "test-model",
                "base_url": base_url,
                "temperature": 0,
                "max_connections": c,
            },
            "prompt": "[[answer={{ answer }}]] question number {{ i }}",
            "scorers": [{"equals": "yes"}, {"contains": "y"}],
            "cases": [
                {"id": f"c{i}", "vars": {"i": i, "answer": "yes" if i % 2 else "no"}}
                for i in range(n)
            ],
        }
    )
    store = Store.open(f"sqlite:///{tempfile.mkdtemp()}/bench.db")
    samples: list[tuple[int, float]] = []
    done = 0

    def on_event(event: object) -> None:
        nonlocal done
        if isinstance(event, ItemDone):
            done += 1
            if sample and done % 10000 == 0:
                samples.append((done, current_rss_mb()))

    cpu0, t0 = time.process_time(), time.perf_counter()
    run = asyncio.run(evalbook.arun(suite, store=store, concurrency=c, on_event=on_event))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert run.counts.total == n and run.counts.errored == 0, run.counts
    out: dict[str, object] = {
        "n": n,
        "c": c,
        "wall_s": wall,
        "floor_s": math.ceil(n / c) * latency_ms / 1000,
        "cpu_ms_per_case": cpu * 1000 / n,
        "peak_rss_mb": rss_mb(),
        "score": run.score,
    }
    if sample:
        out["rss_samples"] = samples
    if cached_rerun:
        t1 = time.perf_counter()
        again = asyncio.run(evalbook.arun(suite, store=store, concurrency=c))
        out["cached_rerun_s"] = time.perf_counter() - t1
        assert again.counts.cached == n, again.counts
    return out


def run_child(args: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int)
    parser.add_argument("--c", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--cached-rerun", action="store_true")
    parser.add_argument("--flat-memory", action="store_true", help="100,000 cases at C=100")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("EVALBOOK_HOME", tempfile.mkdtemp())

    if args.child:
        out = scenario(
            args.n, args.c, args.base_url, args.latency_ms, args.cached_rerun, args.n >= 50000
        )
        print(json.dumps(out))
        return

    if args.flat_memory:
        plan = [{"n": 100000, "c": 100}]
    elif args.n:
        plan = [{"n": args.n, "c": args.c, "cached_rerun": args.cached_rerun}]
    else:
        plan = STANDARD
    server, base_url = start_server(args.latency_ms)
    try:
        print(
            f"{'N':>7} {'C':>4} {'wall s':>8} {'floor s':>8} {'wall/floor':>10}"
            f" {'CPU ms/case':>12} {'peak RSS MB':>12}"
        )
        for p in plan:
            child_args = [
                "--n",
                str(p["n"]),
                "--c",
                str(p["c"]),
                "--latency-ms",
                str(args.latency_ms),
                "--base-url",
                base_url,
            ]
            if p.get("cached_rerun"):
                child_args.append("--cached-rerun")
            r = run_child(child_args)
            print(
                f"{r['n']:>7} {r['c']:>4} {r['wall_s']:>8.2f} {r['floor_s']:>8.2f}"
                f" {r['wall_s'] / r['floor_s']:>10.2f} {r['cpu_ms_per_case']:>12.3f}"
                f" {r['peak_rss_mb']:>12.1f}"
            )
            if "cached_rerun_s" in r:
                print(f"        fully cached re-run of {r['n']} cases: {r['cached_rerun_s']:.2f} s")
            if "rss_samples" in r:
                print(
                    "        RSS (MB) as items finish: "
                    + ", ".join(f"{n // 1000}k={mb:.0f}" for n, mb in r["rss_samples"])
                )  # type: ignore[attr-defined]
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
