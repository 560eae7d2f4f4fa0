"""A run whose endpoint takes fewer requests at once than its concurrency says so: in the
run's record (``options.in_flight``, in ``--json`` too) always, and as a note when the
concurrency was asked for (``--concurrency``), not for a default nobody asked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from evalbook.core.run import RunOptions
from evalbook.executor.launch import prepare_run
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..executor.helpers import server_model
from .test_cli import write_suite

runner = CliRunner()
NOTE = "takes 3 requests at a time (max_connections); --concurrency 10 keeps at most 3 in flight"


def _run(suite: Path, *args: str) -> tuple[dict[str, Any], str]:
    from evalbook.cli.app import app

    result = runner.invoke(app, ["run", str(suite), "--json", "--no-cache", *args])
    assert result.exit_code in (0, 100), result.output
    return json.loads(result.stdout), result.stderr


def test_the_endpoint_limit_is_recorded_and_said_when_concurrency_was_asked(
    tmp_path: Path, store: Store, server: Any
) -> None:
    held = server_model(server.base_url, max_connections=3)
    suite = write_suite(tmp_path / "held.yaml", server.base_url, n=12, model=held)

    asked, err = _run(suite, "--concurrency", "10")
    assert asked["options"]["concurrency"] == 10 and asked["options"]["in_flight"] == 3
    [note] = [line for line in err.splitlines() if line.startswith("note:")]  # one line
    assert note == f"note: openai-compatible:{server.base_url} {NOTE}"
    assert store.get_run(asked["id"]).options.in_flight == 3  # the record says it too

    default, err = _run(suite)  # the default 8 is held to 3 as well: recorded, not said
    assert default["options"]["concurrency"] == 8 and default["options"]["in_flight"] == 3
    assert "note:" not in err

    within, err = _run(suite, "-c", "2")  # nothing held back: nothing to say
    assert "in_flight" not in within["options"] and "note:" not in err
    assert store.get_run(within["id"]).options.in_flight is None

    # No max_connections in the config: the endpoint takes what the run keeps in flight.
    free = write_suite(tmp_path / "free.yaml", server.base_url, n=12)
    wide, err = _run(free, "-c", "40")
    assert "in_flight" not in wide["options"] and "note:" not in err


def test_the_embedded_model_is_recorded_as_one_at_a_time(store: Store) -> None:
    suite = load_suite_from_dict(
        {
            "id": "local",
            "model": {"provider": "local", "name": "smollm2-135m"},
            "prompt": "{{ q }}",
            "cases": [{"id": "a", "vars": {"q": "hi"}}],
        }
    )
    job = prepare_run(store, suite, options=RunOptions(concurrency=4))
    asyncio.run(job.aclose())  # not executed: the record is what is checked
    assert job.run.options.in_flight == 1
    assert store.get_run(job.run.id).options.in_flight == 1
    # A run's options read back from an older record (no in_flight) stay valid.
    assert RunOptions.model_validate({"concurrency": 4}).in_flight is None
    assert "in_flight" not in RunOptions(concurrency=4).model_dump()
