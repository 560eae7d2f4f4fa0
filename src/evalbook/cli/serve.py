"""``evalbook serve``: the REST API and the web workspace, with the in-process worker pool."""

from __future__ import annotations

import typer

from evalbook.cli.console import err_console
from evalbook.errors import MissingExtraError


def require_server(command: str) -> None:
    """The HTTP server is an optional extra: say how to install it when it is missing."""
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(f"evalbook {command}", "server") from exc


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", "-p", min=1, max=65535),
    concurrency: int = typer.Option(
        2, "--concurrency", "-c", min=1, help="Runs executing at once in its worker."
    ),
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
    allow_model_host: list[str] = typer.Option(
        [],
        "--allow-model-host",
        help="HOST or HOST:PORT a model endpoint of a run sent over the API may be on even"
        " though it is not public (a self-hosted model on this machine or network)."
        " Repeat for more; also EVALBOOK_ALLOW_MODEL_HOSTS (comma-separated).",
    ),
    provider_secret: list[str] = typer.Option(
        [],
        "--provider-secret",
        help="NAME of an environment variable holding a provider key that runs sent over"
        " the API may use (api_key_env, or openai's OPENAI_API_KEY). Repeat for more; also"
        " EVALBOOK_PROVIDER_SECRETS (comma-separated). No other variable can be named.",
    ),
    threads: int | None = typer.Option(
        None,
        "--threads",
        min=1,
        max=256,
        help="Requests answered at once, each in a thread; the others wait their turn"
        " (default: the machine's cores + 1, at most 16; more only adds contention).",
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
    require_server("serve")
    import uvicorn

    from evalbook.config import check_limits

    check_limits()  # before binding: a bad EVALBOOK_MAX_* refuses the start, naming it

    from evalbook.providers.endpoints import allow_hosts
    from evalbook.server import ServerSettings, create_app
    from evalbook.server.app import check_bind
    from evalbook.server.schemas.policy import offer_secrets
    from evalbook.storage.store import Store

    allow_hosts(allow_model_host)
    offer_secrets(provider_secret)
    settings = ServerSettings(
        host=host,
        port=port,
        max_runs=concurrency,
        worker=worker,
        public_url=public_url,
        allow_private_webhooks=allow_private_webhooks,
        lease_s=lease_s,
        request_threads=threads,
    )
    store = Store.open()
    try:
        check_bind(settings, store)  # before binding: a clear error, not a stack trace
        err_console.print(f"evalbook serving {settings.base_url} · database {store.location}")
    finally:
        store.close()
    # Open event streams (SSE) would hold a graceful stop forever: give them a few
    # seconds, then close them (clients resume with Last-Event-ID).
    from evalbook.cli.worker import fleet_dispatcher

    # With EVALBOOK_BROKER_URL set, every route hands runs to the fleet (Celery).
    app = create_app(settings, dispatcher=fleet_dispatcher(), long_lived=True)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
