"""The API under load: one ``evalbook serve`` with 10,000 runs stored, 32 clients at once.

    python benchmarks/bench_api.py                     # SQLite (a file in a temporary dir)
    python benchmarks/bench_api.py --postgresql        # PostgreSQL: a scratch database
    python benchmarks/bench_api.py --runs 2000 --seconds 3
    python benchmarks/bench_api.py --key               # every request with an API key

The database is filled with ``--runs`` runs (clones of one real run of the ``mock`` model,
``--cases`` results each), then two servers run as processes of their own on loopback:
``evalbook serve --no-worker`` on that database, and the *ceiling*, a minimal FastAPI app on
the same stack (uvicorn, FastAPI, SQLAlchemy, the same database) whose one endpoint returns
50 rows of the runs table. ``--clients`` clients (one keep-alive connection each) ask each
read endpoint for ``--seconds`` seconds; printed: requests/s, p50/p99 in ms, the server's
CPU ms per request (what a request costs, beside how many the machine served: compare it
with the ceiling's of the same run, as both move when other work slows the machine) and
the share of the ceiling's requests/s (target ≥ 50%). Then
``--submits`` submissions (``POST /api/evals`` and ``POST /api/runs``) at
``--submit-clients`` at once; target p99 ≤ 200 ms. The server has no worker: what is
measured is the API, not the execution of the runs it accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import sqlalchemy as sa

import evalbook
from evalbook.core.identity import stable_uuid
from evalbook.server.settings import default_request_threads
from evalbook.storage import tables as t
from evalbook.storage.rows import run_to_row
from evalbook.storage.store import Store
from evalbook.storage.workspaces import create_key
from evalbook.suites import load_suite_from_dict

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_SCRATCH = "evalbook_bench_api"
TARGET_SHARE = 0.5
TARGET_SUBMIT_P99_MS = 200.0

#: The ceiling: the least a FastAPI endpoint returning 50 rows of this database can do.
CEILING_APP = """
import contextlib
import sys

import anyio.to_thread
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

engine = sa.create_engine(sys.argv[1], pool_size=40, max_overflow=0)

@contextlib.asynccontextmanager
async def lifespan(app):
    # As many request threads as the server has (fewer than anyio's 40 serve more).
    anyio.to_thread.current_default_thread_limiter().total_tokens = int(sys.argv[3])
    yield

app = FastAPI(lifespan=lifespan)
QUERY = sa.text(
    "SELECT id, title, status, score, created_at FROM runs"
    " ORDER BY created_at DESC, id DESC LIMIT 50"
)

@app.get("/rows")
def rows():
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(QUERY)]

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="info")
"""


def _suite_data(cases: int) -> dict[str, Any]:
    return {
        "id": "bench-api",
        "version": "1",
        "model": {"provider": "mock", "name": "echo"},
        "prompt": "answer {{ i }}: {{ text }}",
        "scorers": [{"contains": "7"}],
        "cases": [
            {"id": f"case-{i:03d}", "vars": {"i": i, "text": "lorem ipsum " * 8}}
            for i in range(cases)
        ],
    }


def fill(store: Store, runs: int, cases: int) -> list[str]:
    """One real run, cloned until ``runs`` exist (one a minute back in time); their ids."""
    template = evalbook.run(load_suite_from_dict(_suite_data(cases)), store=store)
    results = list(store.iter_results(template.id))
    start = datetime.now(UTC) - timedelta(minutes=runs + 1)
    ids = [template.id]
    batch_runs: list[dict[str, Any]] = []
    batch_results: list[tuple[Any, int]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(sa.insert(t.runs), batch_runs)
        store.save_results(batch_results)
        batch_runs.clear()
        batch_results.clear()

    for k in range(runs - 1):
        run_id = str(uuid.uuid4())
        created = start + timedelta(minutes=k)
        clone = template.model_copy(
            update={
                "id": run_id,
                "alias": None,
                "title": f"bench run {k}",
                "created_at": created,
                "started_at": created,
                "finished_at": created + timedelta(seconds=3),
            }
        )
        batch_runs.append(run_to_row(clone))
        for seq, r in enumerate(results):
            rid = stable_uuid(run_id, r.case_id, str(r.epoch))
            batch_results.append((r.model_copy(update={"id": rid, "run_id": run_id}), seq))
        ids.append(run_id)
        if len(batch_runs) == 500:
            flush()
    if batch_runs:
        flush()
    return ids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv[:3]} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit(f"{argv[:3]} did not listen on port {port}")
    return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def cpu_of(pid: int) -> Callable[[], float]:
    """The CPU seconds process ``pid`` has used so far (``nan`` without ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return math.nan
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return used


async def load(
    base: str,
    path: Callable[[], str],
    clients: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    server_cpu: Callable[[], float] = lambda: math.nan,
) -> tuple[float, list[float], float]:
    """``clients`` loops asking ``path()`` for ``seconds``: requests/s, latencies (ms) and
    the server's CPU ms per request (``server_cpu``: its CPU seconds so far)."""
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:

        async def one(url: str) -> float:
            t0 = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"GET {url}: {response.status} {await response.text()}")
            return (time.perf_counter() - t0) * 1000

        # Warm up: every connection opened, every code path taken once.
        await asyncio.gather(*(one(path()) for _ in range(clients * 2)))
        samples: list[float] = []
        end = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < end:
                samples.append(await one(path()))

        t0, cpu0 = time.perf_counter(), server_cpu()
        await asyncio.gather(*(client() for _ in range(clients)))
        cpu_ms = (server_cpu() - cpu0) * 1000 / len(samples)
        return len(samples) / (time.perf_counter() - t0), samples, cpu_ms


async def submit(
    base: str,
    bodies: list[tuple[str, dict[str, Any]]],
    clients: int,
    headers: dict[str, str] | None = None,
) -> tuple[float, list[float]]:
    """Each ``(path, body)`` POSTed once, ``clients`` at a time: requests/s and latencies."""
    connector = aiohttp.TCPConnector(limit=clients)
    queue = list(reversed(bodies))
    samples: list[float] = []
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:

        async def client() -> None:
            while queue:
                path, body = queue.pop()
                t0 = time.perf_counter()
                async with session.post(path, json=body) as response:
                    text = await response.text()
                    if response.status != 202:
                        raise SystemExit(f"POST {path}: {response.status} {text}")
                samples.append((time.perf_counter() - t0) * 1000)

        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return len(samples) / (time.perf_counter() - t0), samples


async def _cursors(base: str, pages: int, headers: dict[str, str]) -> list[str]:
    """The ``next`` links of the first ``pages`` pages of ``GET /api/runs``."""
    links: list[str] = []
    url: str | None = "/api/runs?limit=50"
    async with aiohttp.ClientSession(base, headers=headers) as session:
        while url is not None and len(links) < pages:
            async with session.get(url) as response:
                url = (await response.json())["next"]
            if url is not None:
                links.append(url)
    return links


async def _register(base: str, suite: dict[str, Any], headers: dict[str, str]) -> None:
    async with aiohttp.ClientSession(base, headers=headers) as session:
        async with session.post("/api/suites", json=suite) as response:
            if response.status not in (200, 201):
                raise SystemExit(f"POST /api/suites: {response.status} {await response.text()}")


def _scratch_pg() -> str:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {PG_SCRATCH}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_SCRATCH


def _row(name: str, rps: float, samples: list[float], cpu_ms: float, ceiling: float | None) -> str:
    p50, p99 = np.percentile(samples, [50, 99])
    if ceiling is None:
        share = "ceiling"
    else:
        mark = "ok" if rps >= TARGET_SHARE * ceiling else "UNDER"
        share = f"{rps / ceiling:6.0%}  {mark}"
    return f"{name:36} {rps:8.0f} {p50:8.1f} {p99:8.1f} {cpu_ms:8.2f}  {share}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=10, help="results per run")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--submit-clients", type=int, default=20)
    parser.add_argument("--postgresql", action="store_true", help=f"a scratch {PG_SCRATCH}")
    parser.add_argument(
        "--key",
        action="store_true",
        help="every request with an API key, as a server with keys is asked (default: none,"
        " the single-user mode of loopback)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = _scratch_pg() if args.postgresql else f"sqlite:///{Path(tmp) / 'bench.db'}"
        env = {**os.environ, "EVALBOOK_HOME": tmp, "EVALBOOK_DATABASE_URL": url}
        os.environ.update(env)
        store = Store.open(url)
        t0 = time.perf_counter()
        run_ids = fill(store, args.runs, args.cases)
        if store.dialect == "postgresql":  # what autovacuum does after a bulk load
            # Committed: statistics gathered in a transaction that rolls back are lost,
            # and the planner then sorted all 10,000 runs for a page (10 ms, not 0.1).
            with store.engine.begin() as conn:
                conn.execute(sa.text("ANALYZE"))
        headers: dict[str, str] = {}
        if args.key:
            key, _ = create_key(store, "default")
            headers = {"Authorization": f"Bearer {key}"}
        store.close()
        print(f"filled {len(run_ids):,} runs × {args.cases} results in"
              f" {time.perf_counter() - t0:.0f} s ({store.dialect})", flush=True)  # fmt: skip

        port, ceiling_port = _free_port(), _free_port()
        serve = [sys.executable, "-m", "evalbook", "serve", "--no-worker", "--port", str(port)]
        threads = str(default_request_threads())
        ceiling_argv = [sys.executable, "-c", CEILING_APP, url, str(ceiling_port), threads]
        rng = random.Random(7)
        rows: list[str] = []
        ceiling = _start(ceiling_argv, env, ceiling_port)
        proc = _start(serve, env, port)
        base = f"http://127.0.0.1:{port}"
        ceiling_base = f"http://127.0.0.1:{ceiling_port}"
        try:
            # The machine may be busy with other work: the ceiling is measured before and
            # after the endpoints, and their share is of the mean of both.
            ceiling_cpu, served_cpu = cpu_of(ceiling.pid), cpu_of(proc.pid)
            first = asyncio.run(
                load(ceiling_base, lambda: "/rows", args.clients, args.seconds, None, ceiling_cpu)
            )
            ceiling_rps = first[0]
            cursors = asyncio.run(_cursors(base, 40, headers))
            endpoints: dict[str, Callable[[], str]] = {
                "GET /api/runs?limit=50": lambda: "/api/runs?limit=50",
                "GET /api/runs?limit=50&cursor=…": lambda: rng.choice(cursors),
                "GET /api/runs/{id}": lambda: f"/api/runs/{rng.choice(run_ids)}",
                "GET /api/evals": lambda: "/api/evals",
                "GET /api/evals/{id}": lambda: f"/api/evals/{rng.choice(run_ids)}",
            }
            measured: list[tuple[str, tuple[float, list[float], float]]] = []
            for name, path in endpoints.items():
                got = asyncio.run(load(base, path, args.clients, args.seconds, headers, served_cpu))
                measured.append((name, got))
                print(f"  {name}: {got[0]:.0f} requests/s", flush=True)
            last = asyncio.run(
                load(ceiling_base, lambda: "/rows", args.clients, args.seconds, None, ceiling_cpu)
            )
            ceiling_rps = (first[0] + last[0]) / 2
            rows.append(_row("ceiling (before): FastAPI, 50 rows", *first, None))
            rows.append(_row("ceiling (after)", *last, None))
            rows.extend(_row(name, *got, ceiling_rps) for name, got in measured)
            suite = _suite_data(args.cases)
            suite.pop("model")
            bodies: list[tuple[str, dict[str, Any]]] = []
            for k in range(args.submits):
                if k % 2:
                    inputs = [{"prompt": f"question {k}.{i}"} for i in range(args.cases)]
                    body = {"name": f"bench {k}", "inputSet": inputs, "model": "mock:echo"}
                    bodies.append(("/api/evals", body))
                else:
                    model = {"provider": "mock", "name": "echo", "seed": k}
                    bodies.append(("/api/runs", {"suite_id": "bench-api", "model": model}))
            asyncio.run(_register(base, suite, headers))
            cpu0 = served_cpu()
            rps, samples = asyncio.run(submit(base, bodies, args.submit_clients, headers))
            submit_cpu_ms = (served_cpu() - cpu0) * 1000 / len(samples)
        finally:
            _stop(proc)
            _stop(ceiling)
    keyed = "with" if args.key else "without"
    print(f"\n{args.runs:,} runs stored ({store.dialect}), {args.clients} clients,"
          f" {args.seconds:g} s per endpoint, {keyed} an API key")  # fmt: skip
    print(f"{'endpoint':36} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms':>8}  of ceiling")
    for row in rows:
        print(row)
    p50, p99 = np.percentile(samples, [50, 99])
    mark = "ok" if p99 <= TARGET_SUBMIT_P99_MS else "OVER"
    print(
        f"{'POST /api/evals + /api/runs':36} {rps:8.0f} {p50:8.1f} {p99:8.1f} {submit_cpu_ms:8.2f}"
        f"  {args.submits} at {args.submit_clients} clients; p99 target"
        f" ≤ {TARGET_SUBMIT_P99_MS:g} ms {mark}"
    )


if __name__ == "__main__":
    main()
