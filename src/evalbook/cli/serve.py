"""``evalbook serve``: the REST API and the web workspace, with the in-process worker pool."""

from __future__ import annotations

import typer

from evalbook.cli.console import err_console


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535),
    max_runs: int = typer.Option(2, "--max-runs", min=1, help="Runs executing at once."),
    worker: bool = typer.Option(
        True,
        "--worker/--no-worker",
        help="Execute queued runs here (or leave them to `evalbook worker` processes).",
    ),
    public_url: str | None = typer.Option(
        None, "--public-url", help="How clients reach this server (links in webhooks)."
    ),
    allow_private_webhooks: bool = typer.Option(
        False,
        "--allow-private-webhooks",
        help="Let webhooks created with allow_private send to loopback/private addresses.",
    ),
    lease_s: float = typer.Option(
        30.0,
        "--lease-s",
        min=0.5,
        help="Seconds a run's claim lasts without renewal: after a crash, how soon this"
        " or another server resumes its runs.",
    ),
) -> None:
    """Serve the REST API (OpenAPI at /openapi.json) and the web workspace (/), and
    execute queued runs."""
    import uvicorn

    from evalbook.server import ServerSettings, create_app
    from evalbook.server.app import check_bind
    from evalbook.storage.store import Store

    settings = ServerSettings(
        host=host,
        port=port,
        max_runs=max_runs,
        worker=worker,
        public_url=public_url,
        allow_private_webhooks=allow_private_webhooks,
        lease_s=lease_s,
    )
    store = Store.open()
    try:
        check_bind(settings, store)  # before binding: a clear error, not a stack trace
        err_console.print(f"evalbook serving {settings.base_url} · database {store.location}")
    finally:
        store.close()
    # Open event streams (SSE) would hold a graceful stop forever: give them a few
    # seconds, then close them (clients resume with Last-Event-ID).
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="info", timeout_graceful_shutdown=5
    )
