"""``evalbook worker``: execute queued runs from the shared database until stopped.

Start one per machine (or several) next to a server with the same
``EVALBOOK_DATABASE_URL``. SIGINT/SIGTERM stop it gracefully: runs executing are
suspended with their finished results written and their leases released, so another
worker resumes them at once. A worker killed outright is replaced the same way once its
lease (``--lease-s``) expires. For cron and CI, ``--max-runs N`` (or ``--once``) exits
after N runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.logging import RichHandler

from evalbook.cli.console import console, err_console
from evalbook.errors import ConfigError, UserError
from evalbook.plain_text import get_logger
from evalbook.storage.shards import shards_of
from evalbook.storage.store import Store
from evalbook.webhooks.delivery import deliver_forever, webhook_hook
from evalbook.worker import WorkerPool
from evalbook.worker.celery_app import BROKER_ENV, broker_url
from evalbook.worker.celery_dispatch import CeleryDispatcher


def worker_command(
    concurrency: int = typer.Option(
        2,
        "--concurrency",
        "-c",
        min=1,
        help="Runs executed at once (with EVALBOOK_BROKER_URL: shards executed at once).",
    ),
    max_runs: int | None = typer.Option(
        None,
        "--max-runs",
        min=1,
        help="Exit after executing this many runs (it waits for them to be queued).",
    ),
    once: bool = typer.Option(False, "--once", help="Exit after one run: --max-runs 1."),
    lease_s: float = typer.Option(
        30.0,
        "--lease-s",
        min=0.5,
        help="Seconds a claim lasts without renewal: how soon another worker takes over"
        " the runs of a worker that died.",
    ),
    poll_s: float = typer.Option(
        0.5, "--poll-s", min=0.01, help="Seconds between looks for queued runs."
    ),
    public_url: str = typer.Option(
        "http://127.0.0.1:8000",
        "--public-url",
        envvar="EVALBOOK_PUBLIC_URL",
        help="How clients reach the server: the run link in webhook payloads.",
    ),
    webhooks: bool = typer.Option(
        True,
        "--webhooks/--no-webhooks",
        help="Also send pending webhook deliveries from here (servers send them too;"
        " each delivery is claimed by one sender).",
    ),
    allow_model_host: list[str] = typer.Option(
        [],
        "--allow-model-host",
        help="HOST or HOST:PORT a model endpoint of a run sent over the API may be on even"
        " though it is not public (a self-hosted model on this machine or network)."
        " Repeat for more; also EVALBOOK_ALLOW_MODEL_HOSTS (comma-separated).",
    ),
    allow_private_webhooks: bool = typer.Option(
        False, "--allow-private-webhooks", help="As `evalbook serve --allow-private-webhooks`."
    ),
) -> None:
    """Execute queued runs from the database until SIGINT/SIGTERM (or --max-runs N)."""
    if once and max_runs not in (None, 1):
        raise UserError(f"--once means --max-runs 1, not {max_runs}: give one of them")
    limit = 1 if once else max_runs
    from evalbook.config import check_limits
    from evalbook.providers.endpoints import allow_hosts

    check_limits()  # before the first claim: not in a run, after its paid answers

    allow_hosts(allow_model_host)
    if (url := broker_url()) is not None:
        _celery_worker(url, concurrency)
        return
    handler = _log_handler()
    logger = get_logger("evalbook.worker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    store = Store.open()
    try:
        pool = WorkerPool(
            store,
            max_runs=concurrency,
            limit=limit,
            lease_s=lease_s,
            poll_s=poll_s,
            on_finished=(webhook_hook(store, public_url.rstrip("/")),),
        )
        asyncio.run(_serve(pool, store, webhooks, allow_private_webhooks))
    finally:
        logger.removeHandler(handler)
        store.close()


def _log_handler() -> logging.Handler:
    """Rich, at a terminal; elsewhere (a service log, a file, CI) one plain line per
    record, never wrapped at the 80 columns a console assumes when it has no terminal."""
    if err_console.is_terminal:
        return RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    return handler


async def _serve(pool: WorkerPool, store: Store, webhooks: bool, allow_private: bool) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def graceful() -> None:
        err_console.print(
            "[yellow]stopping[/]: handing executing runs back to the queue"
            " (signal again to exit at once)"
        )
        stop.set()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)  # a second signal takes the default: exit now

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, graceful)
    if not webhooks:
        await pool.run(stop)
        return
    sender = asyncio.create_task(deliver_forever(store, stop, allow_private=allow_private))
    try:
        await pool.run(stop)
    finally:
        stop.set()
        await sender


def _celery_worker(url: str, concurrency: int) -> None:
    """A Celery worker of the fleet. SIGTERM: shards under way are handed back at once
    (their finished results written) and sent again; the worker exits when they are."""
    from evalbook.worker.celery_app import make_app, queue_name

    get_logger("evalbook.worker").setLevel(logging.INFO)
    app = make_app(url)
    pool = "solo" if concurrency == 1 else "threads"
    app.worker_main(
        argv=[
            "worker",
            f"--hostname=evalbook-{os.getpid()}@%h",  # unique: RabbitMQ refuses twins
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            f"--pool={pool}",
            f"--queues={queue_name()}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
    )


def fleet_broker(shards: str) -> str:
    """The broker ``--submit`` sends to, checked before anything is recorded."""
    url = broker_url()
    if url is None:
        raise ConfigError(f"--submit needs a broker: set {BROKER_ENV} (redis://… or amqp://…)")
    if shards != "auto" and not (shards.isdigit() and int(shards) >= 1):
        raise ConfigError(f"--shards must be a positive number or auto, not {shards!r}")
    return url


def submit_to_fleet(store: Store, url: str, run_id: str, shards: str) -> None:
    dispatcher = CeleryDispatcher(store, url, shards=None if shards == "auto" else int(shards))
    try:
        run_id = dispatcher.submit(run_id)
    finally:
        dispatcher.close()
    err_console.print(f"submitted run {run_id} in {len(shards_of(store, run_id))} shard(s)")
    console.print(run_id)


def fleet_dispatcher() -> Callable[[Any], CeleryDispatcher] | None:
    """The server's dispatcher factory when a broker is configured (else None: the
    database queue)."""
    url = broker_url()
    if url is None:
        return None
    return lambda state: CeleryDispatcher(state.store, url)
