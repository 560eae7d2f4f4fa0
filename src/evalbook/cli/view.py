"""``evalbook view``: the web workspace on this machine, opened in the browser (like
``promptfoo view``). Always loopback: it is the single-user way to look at the record."""

from __future__ import annotations

import socket
import threading
import webbrowser

import typer

from evalbook.cli.console import err_console
from evalbook.cli.serve import require_server


def _free_port(preferred: int) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def view_command(
    port: int = typer.Option(
        15500, "--port", "-p", min=1, max=65535, help="Port (the next free one if taken)."
    ),
    browser: bool = typer.Option(True, "--browser/--no-browser", help="Open the browser."),
    worker: bool = typer.Option(
        True, "--worker/--no-worker", help="Execute runs launched from the page here."
    ),
) -> None:
    """Open the web workspace (dashboard, runs, launch sheet) on 127.0.0.1."""
    require_server("view")
    import uvicorn

    from evalbook.server import ServerSettings, create_app
    from evalbook.server.app import check_bind
    from evalbook.storage.store import Store

    chosen = _free_port(port)
    settings = ServerSettings(host="127.0.0.1", port=chosen, worker=worker)
    store = Store.open()
    try:
        check_bind(settings, store)
        location = store.location
    finally:
        store.close()
    url = settings.base_url + "/"
    err_console.print(f"evalbook workspace at {url} · database {location} · Ctrl-C to stop")
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=chosen,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    if browser:

        def open_when_ready() -> None:
            for _ in range(200):
                if server.started:
                    webbrowser.open(url)
                    return
                threading.Event().wait(0.05)

        threading.Thread(target=open_when_ready, daemon=True).start()
    server.run()
