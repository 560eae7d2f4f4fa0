"""Log lines carry received text as text: an endpoint's error, an exception's message,
written with their control characters escaped and on one line, whichever handler
formats them (the worker's plain lines, Rich at a terminal, Celery's)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from evalbook.cli.app import app
from evalbook.errors import AuthError
from evalbook.plain_text import get_logger
from evalbook.providers import PROVIDERS, GenerateRequest, GenerateResponse, Provider, provider
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from .helpers import queued_run

HOSTILE = "denied \x1b[2J\x1b]0;owned\x07\n2026-01-01 INFO run forged: completed \x9b1m"


class Refusing(Provider):
    """An endpoint that refuses every key with a hostile message."""

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        raise AuthError(HOSTILE)


@pytest.fixture
def refusing() -> Iterator[None]:
    provider("refusing")(Refusing)
    yield
    PROVIDERS.unregister("refusing")


def _no_control(text: str) -> None:
    raw = [c for c in text if (ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]
    assert not raw, f"control characters reached the log: {raw!r}"


def test_the_worker_logs_an_endpoint_error_as_one_escaped_line(
    store: Store, refusing: None
) -> None:
    suite = load_suite_from_dict(
        {
            "id": "refused",
            "model": {"provider": "refusing", "name": "m"},
            "prompt": "q {{ i }}",
            "scorers": [{"equals": "yes"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(2)],
        }
    )
    run_id = queued_run(store, suite, use_cache=False)
    result = CliRunner().invoke(app, ["worker", "--once", "--poll-s", "0.05"])
    assert result.exit_code == 0, result.output
    _no_control(result.stderr)
    [line] = [line for line in result.stderr.splitlines() if f"run {run_id}: failed" in line]
    assert "authentication failed: denied \\x1b[2J\\x1b]0;owned\\x07\\x0a2026-01-01" in line
    assert line.endswith("completed \\x9b1m)")  # the forged record stays inside this one
    assert not any(line.startswith("2026-01-01") for line in result.stderr.splitlines())
    # The record keeps the text as it came: only what is printed is escaped.
    assert HOSTILE in (store.get_run(run_id).stop_reason or "")


@pytest.fixture
def captured() -> Iterator[list[str]]:
    """Lines an ``evalbook.worker`` handler formats (with a traceback when there is one)."""
    lines: list[str] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Lines()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = get_logger("evalbook.worker")
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


def test_arguments_messages_and_tracebacks_are_escaped(captured: list[str]) -> None:
    log = get_logger("evalbook.worker")
    log.warning("run %s: %s", "r1", HOSTILE)
    log.warning(HOSTILE)  # a message without arguments
    try:
        raise RuntimeError(HOSTILE)
    except RuntimeError:
        log.exception("run %s failed", "r2")
    for text in captured:
        _no_control(text)
    assert captured[0] == "WARNING run r1: " + HOSTILE.translate(_WRITTEN)
    assert captured[1] == "WARNING " + HOSTILE.translate(_WRITTEN)
    # A traceback keeps its lines; the exception's own text is escaped within them.
    head, *trace = captured[2].split("\n")
    assert head == "WARNING run r2 failed" or head == "ERROR run r2 failed"
    assert trace[0] == "Traceback (most recent call last):" and len(trace) > 2
    assert trace[-2].startswith("RuntimeError: denied \\x1b[2J\\x1b]0;owned\\x07")
    assert trace[-1] == "2026-01-01 INFO run forged: completed \\x9b1m"


def test_every_evalbook_logger_escapes_its_records() -> None:
    """Each logger the package makes comes from ``get_logger`` (a new module's
    ``logging.getLogger`` would log received text raw)."""
    for module in _LOGGING_MODULES:
        importlib.import_module(module)
    names = [
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if name.startswith("evalbook") and isinstance(logger, logging.Logger)
    ]
    assert {"evalbook.worker", "evalbook.executor", "evalbook.server"} <= set(names)
    for name in names:
        filters = logging.getLogger(name).filters
        assert [type(f).__name__ for f in filters] == ["_EscapedRecords"], name


_WRITTEN = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0)) if c != 0x09}

#: Modules that make a logger and are not loaded by the tests above.
_LOGGING_MODULES = (
    "evalbook.cli.worker",
    "evalbook.server.app",
    "evalbook.server.routes.events",
    "evalbook.server.routes.live",
    "evalbook.storage.redis_cache",
    "evalbook.webhooks.delivery",
    "evalbook.worker.celery_app",
)
