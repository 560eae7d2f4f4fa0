"""A limit set badly in the environment (``EVALBOOK_MAX_*``, ``EVALBOOK_RENDER_TIMEOUT_S``,
``EVALBOOK_WRITER_PROCESS_AFTER``) stops ``evalbook run``, ``serve`` and ``worker`` as they
start, naming the variable: not at a run's first write, after its paid answers, nor at
each page of results a server serves."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import evalbook
from evalbook.cli.app import main
from evalbook.config import check_limits
from evalbook.errors import ConfigError
from evalbook.storage.store import Store

from .test_cli import evalbook_cmd, write_suite

BAD = [
    ("EVALBOOK_MAX_STORED_BYTES", "16MB"),
    ("EVALBOOK_MAX_PAGE_BYTES", "0"),
    ("EVALBOOK_MAX_SUITE_BYTES", "-1"),
    ("EVALBOOK_MAX_PROMPT_CHARS", "lots"),
    ("EVALBOOK_RENDER_TIMEOUT_S", "none"),
    ("EVALBOOK_WRITER_PROCESS_AFTER", "soon"),
]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_every_limit_is_checked(name: str, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    check_limits()  # the defaults
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        check_limits()


def test_run_stops_before_asking_or_recording(
    store: Store,
    server: object,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    suite = write_suite(tmp_path / "suite.yaml", server.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", "16MB")
    with pytest.raises(SystemExit) as exc:
        main(["run", str(suite)])
    assert exc.value.code == 1
    assert "EVALBOOK_MAX_STORED_BYTES must be a positive number, not '16MB'" in (
        capsys.readouterr().err
    )
    assert server.requests == 0  # type: ignore[attr-defined]
    assert store.list_runs(limit=5) == []


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_to_start(
    command: str, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_MAX_PAGE_BYTES", "none")
    with socket.socket() as sock:  # a free loopback port, should the server start
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    args = ["serve", "--port", port] if command == "serve" else ["worker", "--once"]
    proc = evalbook_cmd(*args, check=1, timeout=60)  # a start would not end: timeout
    assert "EVALBOOK_MAX_PAGE_BYTES must be a positive number, not 'none'" in proc.stderr
    assert "serving" not in proc.stderr


def test_the_library_checks_before_asking(
    store: Store, server: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``evalbook.run`` too: nothing asked, nothing recorded."""
    suite = write_suite(tmp_path / "suite.yaml", server.base_url)  # type: ignore[attr-defined]
    monkeypatch.setenv("EVALBOOK_MAX_STORED_BYTES", "16MB")
    with pytest.raises(ConfigError, match="EVALBOOK_MAX_STORED_BYTES"):
        evalbook.run(suite, store=store)
    assert server.requests == 0  # type: ignore[attr-defined]
    assert store.list_runs(limit=5) == []
