"""``evalbook runs list``: one line per run, whole values when piped, 80 columns at a terminal."""

from __future__ import annotations

from rich.console import Console
from typer.testing import CliRunner

import evalbook
from evalbook.cli.app import app
from evalbook.cli.runs import _print_fitted, _row
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

runner = CliRunner()
SUITE_ID = "customer-support-replies-in-three-languages"


async def _two_runs(store: Store) -> list[str]:
    suite = load_suite_from_dict(
        {
            "id": SUITE_ID,
            "name": "Replies",
            "threshold": 0.5,
            "model": "mock:echo",
            "prompt": {"name": "reply-with-a-long-prompt-name", "template": "answer {{ i }}"},
            "scorers": [{"contains": "answer"}],
            "cases": [{"id": f"c{i}", "vars": {"i": i}} for i in range(3)],
        }
    )
    first = await evalbook.arun(suite, store=store, alias="baseline-of-the-quarter")
    second = await evalbook.arun(suite, store=store)
    return [second.id, first.id]


async def test_piped_list_keeps_whole_values_one_run_per_line(store: Store, db_url: str) -> None:
    ids = await _two_runs(store)
    result = runner.invoke(app, ["runs", "list"], env={"EVALBOOK_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == 3, result.output
    assert lines[0].split() == [
        *("id", "date", "suite", "model", "prompt", "status", "score", "cases"),
        *("alias", "p50", "cost"),
    ]
    for line, run_id in zip(lines[1:], ids, strict=True):
        assert line.startswith(run_id[:8])
        assert f"  {SUITE_ID}  mock:echo  reply-with-a-long-prompt-name v1  PASS  " in line
    assert "baseline-of-the-quarter" in lines[2] and "│" not in result.output


async def test_terminal_list_fits_80_columns(store: Store) -> None:
    await _two_runs(store)
    rows = [_row(r) for r in store.list_runs(limit=20)]
    out = Console(width=80, force_terminal=True, record=True, color_system=None)
    _print_fitted(rows, out)
    lines = out.export_text().splitlines()
    assert len(lines) == 3, lines
    assert all(len(line) <= 80 for line in lines), lines
    header = ["id", "date", "suite", "model", "prompt", "status", "score", "cases"]
    assert lines[0].split() == header
    for line, row in zip(lines[1:], rows, strict=True):
        assert line.startswith(row["id"]) and "PASS" in line and line.rstrip().endswith("3/3")
        assert "customer-s" in line and "…" in line and "… v1" in line

    wide = Console(width=200, force_terminal=True, record=True, color_system=None)
    _print_fitted(rows, wide)
    text = wide.export_text()
    assert SUITE_ID in text and "baseline-of-the-quarter" in text and "$0.0000" in text
