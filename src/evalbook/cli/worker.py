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
) -> None:
    """Execute queued runs from the database until SIGINT/SIGTERM."""
    handler = RichHandler(console=err_console, show_path=False, rich_tracebacks=False)
    logger = logging.getLogger("evalbook.worker")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    store = Store.open()
    try:
        pool = WorkerPool(store, max_runs=max_runs, lease_s=lease_s, poll_s=poll_s)
        asyncio.run(_serve(pool))
    finally:
        logger.removeHandler(handler)
        store.close()


async def _serve(pool: WorkerPool) -> None:
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
    await pool.run(stop)
