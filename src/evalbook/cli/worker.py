"""``evalbook worker``: execute queued runs from the shared database until stopped.

Start one per machine (or several) next to a server with the same
``EVALBOOK_DATABASE_URL``. SIGINT/SIGTERM stop it gracefully: runs executing are
suspended with their finished results written and their leases released, so another
worker resumes them at once. A worker killed outright is replaced the same way once its
lease (``--lease-s``) expires.
"""

from __future__ import annotations

import asyncio
import logging
import signal

import typer
from rich.logging import RichHandler

from evalbook.cli.console import err_console
from evalbook.storage.store import Store
from evalbook.worker import WorkerPool
from evalbook.worker.webhooks import deliver_forever, webhook_hook


def worker_command(
    max_runs: int = typer.Option(2, "--max-runs", min=1, help="Runs executed at once."),
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
    allow_private_webhooks: bool = typer.Option(
        False, "--allow-private-webhooks", help="As `evalbook serve --allow-private-webhooks`."
    ),
) -> None:
    """Execute queued runs from the database until SIGINT/SIGTERM."""
    handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
    logger = logging.getLogger("evalbook.worker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    store = Store.open()
    try:
        pool = WorkerPool(
            store,
            max_runs=max_runs,
            lease_s=lease_s,
            poll_s=poll_s,
            on_finished=(webhook_hook(store, public_url.rstrip("/")),),
        )
        asyncio.run(_serve(pool, store, webhooks, allow_private_webhooks))
    finally:
        logger.removeHandler(handler)
        store.close()


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
