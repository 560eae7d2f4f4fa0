"""What the read benchmarks share: two large finished runs written straight through the
store (no model calls), and the server started in a thread on a loopback socket.

Imports of evalbook happen inside the functions: ``bench_compare`` measures the import
time of its comparison apart and must not pay for it here."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import uvicorn

    from evalbook.storage.store import Store

BATCH = 5000
WORDS = "the quick brown fox jumps over the lazy dog"
CHANGED_WORDS = "the quick red fox leaps over the sleepy dog"


def two_runs(
    store: Store,
    n: int,
    *,
    suite_id: str,
    seed: int,
    shift: float,
    aliases: tuple[str, str],
    cached_share: float = 0.0,
    changed_share: float = 0.0,
) -> tuple[str, str]:
    """A baseline and a candidate of ``n`` cases each, completed, with their aggregates:
    two scorers per case (faithfulness, concision), ten sections, 1 % errors, lognormal
    latencies. The candidate moves faithfulness by ``shift``; ``changed_share`` of its
    outputs use other words (for diffs) and ``cached_share`` of each run's cases are
    marked cached. Returns the two run ids."""
    import numpy as np

    from evalbook.core.result import Result, ResultStatus, ScoreRecord
    from evalbook.core.run import RunStatus
    from evalbook.core.suite import ScorerKind
    from evalbook.executor.aggregate import summarize
    from evalbook.executor.launch import prepare_run
    from evalbook.storage.facts import fact_rows
    from evalbook.suites import load_suite_from_dict

    suite = load_suite_from_dict(
        {"id": suite_id, "name": suite_id, "prompt": "{{ q }}", "cases": [{"vars": {"q": 1}}]}
    )
    rng = np.random.default_rng(seed)
    base_f = rng.uniform(0.5, 1.0, n)
    base_c = rng.uniform(0.4, 1.0, n)
    changed = rng.random(n) < changed_share
    ids = []
    for version, (alias, move) in enumerate(zip(aliases, (0.0, shift), strict=True)):
        run = prepare_run(store, suite, model="mock:echo", alias=alias).run
        faith = np.clip(base_f + move + rng.normal(0, 0.05, n), 0, 1).round(4)
        conc = np.clip(base_c + rng.normal(0, 0.05, n), 0, 1).round(4)
        errors = rng.random(n) < 0.01
        cached = rng.random(n) < cached_share
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
            passed = f >= 0.7 and c >= 0.7
            status = ResultStatus.error if err else (
                ResultStatus.passed if passed else ResultStatus.failed
            )  # fmt: skip
            words = CHANGED_WORDS if version and changed[i] else WORDS
            result = Result(
                id=f"{run.id[:8]}-{i}",
                run_id=run.id,
                case_id=f"case-{i:06d}",
                status=status,
                section=f"section-{i % 10}",
                prompt=f"Summarise document {i}.",
                output=None if err else f"Summary {i}: {words}.",
                error_type="HTTPError" if err else None,
                error_message="HTTP 500" if err else None,
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
        summary = summarize(*fact_rows(store.engine, run.id))
        store.save_metrics(run.id, summary.metric_rows)  # as a finished run has them
        run.status = RunStatus.completed
        run.counts = summary.counts
        run.score = summary.score
        run.metrics = summary.as_metrics()
        run.finished_at = datetime.now(UTC)
        store.update_run(run)
        ids.append(run.id)
    return ids[0], ids[1]


def serve(
    store: Store, services: Sequence[Any] = ()
) -> tuple[str, uvicorn.Server, threading.Thread]:
    """The API and pages over ``store`` in a thread, on a free loopback port; returns the
    base URL, the server (set ``should_exit`` to stop it) and its thread."""
    import uvicorn

    from evalbook.server import ServerSettings, create_app

    # IPPROTO_TCP, not 0: asyncio then sets TCP_NODELAY on accepted connections (as it
    # does when uvicorn binds the address itself, as `evalbook serve` does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(ServerSettings(port=port, worker=False), store=store, services=services)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}", server, thread
