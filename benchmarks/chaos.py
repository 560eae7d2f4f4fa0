"""Hostile input and faults, tried one after the other; prints what each did.

    python benchmarks/chaos.py

A real ``evalbook serve`` (its own process, SQLite under a temporary home, loopback only)
is probed on ``/api/health`` every 50 ms throughout; each row says what was tried, the
outcome, cases lost / duplicated / asked twice where a run was involved, the peak RSS of
the process that took the blow, and the slowest health answer while it happened. Every
address used is loopback; the refused ones are refused before anything connects.
"""

from __future__ import annotations

import asyncio
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from chaos_records import hostile_output_row, sse_kill_row

SUITE = {
    "id": "chaos",
    "model": "mock:echo",
    "prompt": "{{ q }}",
    "scorers": [{"contains": "q"}],
    "cases": [{"id": f"c{i}", "vars": {"q": f"q{i}"}} for i in range(4)],
}


@dataclass
class Row:
    fault: str
    outcome: str
    lost: str = "-"
    duplicated: str = "-"
    asked_twice: str = "-"
    peak_rss_mb: float = 0.0
    slowest_health_ms: float = 0.0


@dataclass
class Prober:
    """GET /api/health every 50 ms; the slowest answer since the last :meth:`mark`."""

    base: str
    slowest: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.stop.is_set():
                started = time.perf_counter()
                try:
                    client.get("/api/health")
                    took = time.perf_counter() - started
                except httpx.HTTPError:
                    took = 30.0
                self.slowest = max(self.slowest, took)
                time.sleep(0.05)

    def mark(self) -> None:
        self.slowest = 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _self_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def serving(home: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = _free_port()
    env = {**os.environ, "EVALBOOK_HOME": str(home)}
    env.pop("EVALBOOK_DATABASE_URL", None)
    env.pop("EVALBOOK_ALLOW_MODEL_HOSTS", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalbook", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/api/health", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise SystemExit("evalbook serve did not start") from None
            time.sleep(0.2)
    try:
        yield proc, base
    finally:
        proc.terminate()
        proc.wait(30)


def api_rows(home: Path) -> list[Row]:
    rows: list[Row] = []
    with serving(home) as (proc, base):
        prober = Prober(base)
        thread = threading.Thread(target=prober.run, daemon=True)
        thread.start()
        client = httpx.Client(base_url=base, timeout=60)
        client.post("/api/suites", json=SUITE).raise_for_status()

        def attempt(fault: str, call: Callable[[], httpx.Response]) -> None:
            prober.mark()
            time.sleep(0.2)
            answer = call()
            time.sleep(0.3)
            detail = answer.text[:70].replace("\n", " ")
            rows.append(
                Row(
                    fault,
                    f"{answer.status_code} {detail}",
                    peak_rss_mb=_rss_mb(proc.pid),
                    slowest_health_ms=prober.slowest * 1000,
                )
            )

        bomb = {**SUITE, "id": "bomb", "prompt": '{{ "a" * 2000000000 }}'}
        attempt("template bomb {{ 'a' * 2e9 }}", lambda: client.post("/api/suites", json=bomb))
        aliases = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]\n"
            for i in range(8)
        )
        attempt(
            "YAML alias bomb (9^9 nodes)",
            lambda: client.post(
                "/api/suites",
                content=aliases + "id: y\nmodel: 'mock:echo'\nprompt: x\ncases: [{vars: {}}]\n",
                headers={"content-type": "application/yaml"},
            ),
        )
        for fault, model in (
            ("SSRF: metadata address", "openai-compatible:m@http://169.254.169.254/v1"),
            ("SSRF: loopback alias", "openai-compatible:m@http://127.0.0.2:8000/v1"),
            ("SSRF: file:// URL", "openai-compatible:m@file:///etc/passwd"),
            ("default vllm endpoint", "vllm:m"),
            (
                "secret: EVALBOOK_SECRET_KEY",
                {"provider": "openai", "name": "x", "api_key_env": "EVALBOOK_SECRET_KEY"},
            ),
            ("secret: params.api_key", {"provider": "mock", "name": "echo",
                                        "params": {"api_key": "sk-x"}}),
        ):  # fmt: skip
            attempt(
                fault,
                lambda m=model: client.post("/api/runs", json={"suite_id": "chaos", "model": m}),  # type: ignore[misc]
            )
        deep = '{"id":"d","model":"mock:echo","prompt":"x","cases":[{"vars":' + '{"a":' * 50_000
        deep += "1" + "}" * 50_000 + "}]}"
        as_json = {"content-type": "application/json"}
        attempt(
            "JSON nested 50,000 deep",
            lambda: client.post("/api/suites", content=deep, headers=as_json),
        )

        def chunked() -> httpx.Response:
            def body() -> Iterator[bytes]:
                for _ in range(12):
                    yield b" " * (1024 * 1024)

            return client.post(
                "/api/suites", content=body(), headers={"content-type": "application/json"}
            )

        attempt("chunked body over 10 MB", chunked)
        prober.stop.set()
        thread.join(5)
        client.close()
    return rows


async def redis_row(home: Path) -> Row:
    """A real redis-server killed by PID after 60 of 200 answers."""
    import evalbook
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    port = _free_port()
    redis = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    os.environ["EVALBOOK_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    try:
        with run_test_server_in_thread(TestServerConfig()) as server:
            store = Store.open(f"sqlite:///{home / 'redis.db'}")
            suite = load_suite_from_dict(
                {
                    "id": "redis",
                    "model": {"provider": "openai-compatible", "name": "m",
                              "base_url": server.base_url},
                    "prompt": "[[latency=10]][[answer=yes]] q{{ i }}",
                    "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(200)],
                }
            )  # fmt: skip

            async def kill() -> None:
                while server.requests < 60:
                    await asyncio.sleep(0.005)
                redis.kill()

            killer = asyncio.create_task(kill())
            run = await evalbook.arun(suite, store=store, concurrency=8)
            await killer
            recorded = sum(1 for _ in store.iter_results(run.id))
            store.close()
            return Row(
                "Redis killed mid-run (200 cases)",
                f"{run.status.value}, {recorded} recorded",
                lost=str(200 - recorded),
                duplicated="0",
                asked_twice=str(server.requests - 200),
                peak_rss_mb=_self_rss_mb(),
            )
    finally:
        os.environ.pop("EVALBOOK_REDIS_URL", None)
        if redis.poll() is None:
            redis.kill()
        redis.wait(10)


async def stall_row(home: Path) -> Row:
    """The first result write stalls 2.5 s, past a 1 s lease, with two pools polling."""
    from evalbook.core.run import RunOptions
    from evalbook.executor.launch import prepare_run
    from evalbook.storage import queue
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict
    from evalbook.testing import TestServerConfig, run_test_server_in_thread
    from evalbook.worker import WorkerPool

    class Stalling(Store):
        stalled = False

        def save_results(self, results: Any) -> None:
            if results and not self.stalled:
                self.stalled = True
                time.sleep(2.5)
            super().save_results(results)

    os.environ["EVALBOOK_ALLOW_MODEL_HOSTS"] = "127.0.0.1"
    with run_test_server_in_thread(TestServerConfig()) as server:
        store = Stalling.open(f"sqlite:///{home / 'stall.db'}")
        suite = load_suite_from_dict(
            {
                "id": "stall",
                "model": {"provider": "openai-compatible", "name": "m",
                          "base_url": server.base_url},
                "prompt": "[[latency=5]][[answer=yes]] q{{ i }}",
                "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(600)],
            }
        )  # fmt: skip
        run = prepare_run(store, suite, options=RunOptions(concurrency=8, use_cache=False)).run
        queue.mark_queued(store, run.id)
        stop = asyncio.Event()
        pools = [WorkerPool(store, lease_s=1.0, poll_s=0.05) for _ in range(2)]
        tasks = [asyncio.create_task(p.run(stop)) for p in pools]
        while not store.get_run(run.id).status.finished:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
        rows = [(r.case_id, r.epoch) for r in store.iter_results(run.id)]
        status = store.get_run(run.id).status.value
        store.close()
    os.environ.pop("EVALBOOK_ALLOW_MODEL_HOSTS", None)
    return Row(
        "result write stalled 2.5 s > 1 s lease",
        f"{status}, {len(set(rows))} recorded",
        lost=str(600 - len(set(rows))),
        duplicated=str(len(rows) - len(set(rows))),
        asked_twice=str(server.requests - 600),
        peak_rss_mb=_self_rss_mb(),
    )


async def full_row(home: Path) -> Row:
    """The database fills up (SQLite's page limit) mid-run, then the run is resumed."""
    import sqlalchemy as sa

    import evalbook
    from evalbook.errors import StorageFull
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict

    url = f"sqlite:///{home / 'full.db'}"
    store = Store.open(url)
    with store.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    store.engine.dispose()
    sa.event.listen(
        store.engine,
        "connect",
        lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count={pages + 60}"),
    )
    suite = load_suite_from_dict(
        {
            "id": "full",
            "model": "mock:echo",
            "prompt": "{{ q }} " + "x" * 2000,
            "cases": [{"id": f"c{i}", "vars": {"q": i}} for i in range(300)],
        }
    )
    try:
        await evalbook.arun(suite, store=store, concurrency=4)
        return Row("database full mid-run", "not full?")
    except StorageFull as exc:
        run_id = str(exc).split("evalbook resume ")[1].rstrip("`")
    status = store.get_run(run_id).status.value
    store.close()
    roomy = Store.open(url)
    done = await evalbook.aresume(run_id, store=roomy)
    rows = [(r.case_id, r.epoch) for r in roomy.iter_results(run_id)]
    roomy.close()
    return Row(
        "database full mid-run, then resumed",
        f"StorageFull, left {status}; resumed: {done.status.value}",
        lost=str(300 - len(set(rows))),
        duplicated=str(len(rows) - len(set(rows))),
        peak_rss_mb=_self_rss_mb(),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        started = time.perf_counter()
        rows = api_rows(home / "server")
        rows.append(asyncio.run(redis_row(home)))
        rows.append(asyncio.run(stall_row(home)))
        rows.append(asyncio.run(full_row(home)))
        rows.append(asyncio.run(hostile_output_row(home, Row, _self_rss_mb)))
        rows.append(sse_kill_row(home / "sse", Row))
        took = time.perf_counter() - started
    header = ("fault / hostile input", "outcome", "lost", "dup", "asked 2x", "peak RSS MB",
              "slowest health ms")  # fmt: skip
    table = [header] + [
        (r.fault, r.outcome, r.lost, r.duplicated, r.asked_twice, f"{r.peak_rss_mb:.0f}",
         f"{r.slowest_health_ms:.0f}" if r.slowest_health_ms else "-")
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print(" | ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"\n{took:.1f} s in all; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
