"""CPU and wall time per accepted submission, one at a time, in process (no network).

    python benchmarks/bench_submit_cpu.py                  # SQLite (a file in a temporary dir)
    python benchmarks/bench_submit_cpu.py --postgresql     # PostgreSQL: a scratch database
    python benchmarks/bench_submit_cpu.py --submits 400

The app runs in this process behind ``httpx.ASGITransport``; a suite is registered, then
``--submits`` submissions alternate ``POST /api/runs`` (that suite, a fresh model seed each)
and ``POST /api/evals`` (``--cases`` inputs each), as ``bench_api.py`` sends them, after 20
to warm up. Sequential, so the figure is the cost of one submission with nobody waiting:
what 20 concurrent clients queue behind (``bench_api.py`` measures that queue's p99).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from typing import Any

import httpx
import sqlalchemy as sa

from evalbook.server import ServerSettings, create_app
from evalbook.storage.store import Store

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_SCRATCH = "evalbook_bench_submit"

SUITE = {
    "id": "bench-submit",
    "version": "1",
    "prompt": "answer {{ i }}",
    "scorers": [{"contains": "7"}],
    "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(10)],
}


def _scratch(create: bool) -> str:
    """Drop the scratch PostgreSQL database (and create it anew when ``create``)."""
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_SCRATCH} WITH (FORCE)"))
        if create:
            conn.execute(sa.text(f"CREATE DATABASE {PG_SCRATCH}"))
    admin.dispose()
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_SCRATCH}"


def _body(k: int, cases: int) -> tuple[str, dict[str, Any]]:
    if k % 2:
        inputs = [{"prompt": f"question {k}.{i}"} for i in range(cases)]
        return "/api/evals", {"name": f"bench {k}", "inputSet": inputs, "model": "mock:echo"}
    model = {"provider": "mock", "name": "echo", "seed": k}
    return "/api/runs", {"suite_id": SUITE["id"], "model": model}


async def measure(store: Store, submits: int, cases: int) -> tuple[float, float]:
    """Wall and CPU milliseconds per submission."""
    app = create_app(ServerSettings(worker=False), store=store, services=())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as api:
            created = await api.post("/api/suites", json=SUITE)
            if created.status_code != 201:
                raise SystemExit(f"POST /api/suites: {created.status_code} {created.text}")

            async def one(k: int) -> None:
                path, body = _body(k, cases)
                answer = await api.post(path, json=body)
                if answer.status_code != 202:
                    raise SystemExit(f"POST {path}: {answer.status_code} {answer.text}")

            for k in range(20):
                await one(k)
            wall, cpu = time.perf_counter(), time.process_time()
            for k in range(20, 20 + submits):
                await one(k)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / submits * 1000, cpu / submits * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--submits", type=int, default=200)
    parser.add_argument("--cases", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = _scratch(True) if args.postgresql else f"sqlite:///{tmp}/bench.sqlite"
        store = Store.open(url)
        try:
            wall, cpu = asyncio.run(measure(store, args.submits, args.cases))
        finally:
            store.close()
            if args.postgresql:
                _scratch(False)
    print(
        f"{store.dialect}: {args.submits} submissions one at a time:"
        f" {wall:.2f} ms wall, {cpu:.2f} ms CPU each (this process: app and client)"
    )


if __name__ == "__main__":
    main()
