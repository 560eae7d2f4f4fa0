"""Help texts: every command's help shows real flags, the root help lists every command
without importing any of them, and start-up loads nothing heavy before it is used."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import typer
import typer.main
from typer.testing import CliRunner

from evalbook.cli.app import COMMANDS, app

runner = CliRunner()


def _paths(group: Any, ctx: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if getattr(cmd, "commands", None):
            found.extend(_paths(cmd, ctx, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


def test_every_help_shows_flags_by_name_never_bool() -> None:
    root = typer.main.get_command(app)
    paths = _paths(root, typer.Context(root))
    assert ("run",) in paths and ("runs", "list") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.output, (path, result.output)
        assert "--help" in result.output
    run_help = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "--no-cache" in run_help and "--json" in run_help


def test_root_help_lists_the_commands_own_summaries() -> None:
    listed = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    for name in COMMANDS:
        assert f" {name} " in listed
    # Load every command, then render again: the summaries in the table are the commands' own.
    root = typer.main.get_command(app)
    ctx = typer.Context(root)
    for name in root.list_commands(ctx):
        real = root.get_command(ctx, name)
        assert real is not None and (real.callback is not None or getattr(real, "commands", None))
        own = (real.help or "").split("\n\n")[0].strip()
        assert own == COMMANDS[name].summary, name


def test_help_and_version_load_nothing_heavy() -> None:
    heavy = ["sqlalchemy", "alembic", "numpy", "scipy", "fastapi", "openai", "anthropic", "httpx"]
    heavy += ["jinja2", "aiohttp"]  # `run --help` draws its options without the executor
    probe = (
        "import sys\n"
        "from evalbook.cli.app import main\n"
        "for argv in (['--help'], ['--version'], ['run', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout


def _loaded_after(statement: str, modules: list[str]) -> list[str]:
    probe = (
        f"import json, sys\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])
    return loaded


def test_commands_load_only_what_they_use() -> None:
    # A run needs the database and the templates, never the server, SciPy or an SDK it
    # was not asked to call; the gate's options load the comparison only when a gate runs.
    run = "import evalbook.cli.run, evalbook.cli.runs, evalbook.cli.init, evalbook.cli.catalog"
    assert _loaded_after(run, ["fastapi", "scipy", "openai", "anthropic"]) == []
    assert _loaded_after("import evalbook.cli.gate_options", ["numpy", "scipy"]) == []
    assert _loaded_after("import evalbook.analysis.history.trends", ["scipy", "numpy"]) == []


def test_the_python_api_loads_numpy_only_when_it_compares_or_judges() -> None:
    # `evalbook.run(...)` pays for NumPy when its run ends (the aggregates), not at import.
    assert _loaded_after("import evalbook.api", ["numpy", "scipy", "fastapi"]) == []
