"""Rows of ``chaos.py`` about what is recorded: an SSE client across a ``kill -9`` of the
server, and model output the database cannot take as it is (oversized, NUL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from evalbook.testing.sse_follower import Follower


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(home: Path, port: int) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ, "EVALBOOK_HOME": str(home), "EVALBOOK_ALLOW_MODEL_HOSTS": "127.0.0.1"}
    env.pop("EVALBOOK_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalbook", "serve", "--port", str(port), "--lease-s", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit("evalbook serve did not start")
        time.sleep(0.1)


def sse_kill_row(home: Path, row: Any, cases: int = 300) -> Any:
    """``kill -9`` of ``evalbook serve`` mid-run while a client follows the run's events;
    a new server resumes the run and the client reconnects with ``Last-Event-ID``."""
    from evalbook.testing import TestServerConfig, run_test_server_in_thread

    port = _free_port()
    with run_test_server_in_thread(TestServerConfig()) as model:
        proc, base = _serve(home, port)
        suite = {
            "id": "sse",
            "prompt": "[[latency=30]][[answer=yes]] q{{ i }}",
            "scorers": [{"equals": "yes"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(cases)],
        }
        spec = {"provider": "openai-compatible", "name": "m", "base_url": model.base_url}
        httpx.post(f"{base}/api/suites", json=suite).raise_for_status()
        created = httpx.post(f"{base}/api/runs", json={"suite_id": "sse", "model": spec})
        created.raise_for_status()
        follower = Follower(f"{base}/api/runs/{created.json()['id']}/events", deadline_s=300)
        thread = threading.Thread(target=follower.run, daemon=True)
        thread.start()
        while sum(kind == "item" for _, kind, _ in list(follower.events)) < cases // 4:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc, _ = _serve(home, port)
        try:
            thread.join(300)
        finally:
            proc.terminate()
            proc.wait(30)
        asked = model.requests
    items = Counter(d["case_id"] for _, kind, d in follower.events if kind == "item")
    ids = [i for i, _, _ in follower.events]
    in_order = ids == sorted(set(ids))
    return row(
        f"server kill -9 mid-run, SSE client ({cases} cases)",
        f"finished seen: {follower.done.is_set()} ({follower.error or 'no client error'}),"
        f" {len(follower.resumed_from)} reconnect attempt(s),"
        f" ids in order: {in_order}",
        lost=str(cases - len(items)),
        duplicated=str(sum(n - 1 for n in items.values())),
        asked_twice=str(asked - cases),
    )


async def hostile_output_row(home: Path, row: Any, rss: Any) -> Any:
    """An answer of 750 KB stored under a 512 KiB limit, and one with a NUL, on SQLite."""
    import evalbook
    from evalbook.storage.store import Store
    from evalbook.suites import load_suite_from_dict

    os.environ["EVALBOOK_MAX_STORED_BYTES"] = str(512 * 1024)
    try:
        store = Store.open(f"sqlite:///{home / 'hostile.db'}")
        suite = load_suite_from_dict(
            {
                "id": "hostile",
                "model": "mock:echo",
                "prompt": '{{ q * n }}{% if nul %}{{ "\\x00" }}{% endif %}',
                "cases": [
                    {"id": f"c{i}", "vars": {"q": "word ", "n": 150_000 if i == 3 else 2,
                                             "nul": i == 5}}
                    for i in range(20)
                ],
            }
        )  # fmt: skip
        started = time.perf_counter()
        run = await evalbook.arun(suite, store=store)
        took = time.perf_counter() - started
        results = {r.case_id: r for r in store.iter_results(run.id)}
        store.close()
    finally:
        os.environ.pop("EVALBOOK_MAX_STORED_BYTES", None)
    big = results["c3"].output or ""
    return row(
        "answer of 750 KB (cap 512 KiB), answer with a NUL",
        f"{run.status.value} in {took:.1f} s; stored {len(big.encode()):,} B ending"
        f" {'with' if big.endswith('(EVALBOOK_MAX_STORED_BYTES)]') else 'WITHOUT'} a marker;"
        f" NUL stored as U+FFFD: {(results['c5'].output or '').endswith(chr(0xFFFD))}",
        lost=str(20 - len(results)),
        duplicated="0",
        peak_rss_mb=rss(),
    )
