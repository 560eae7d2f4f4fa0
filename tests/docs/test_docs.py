"""The README documents every command, provider and scorer, and its set-up lines stay true."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import typer.main

from evalbook.cli.app import app
from evalbook.providers import PROVIDERS
from evalbook.scorers import SCORERS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _commands(group: Any, ctx: Any, prefix: str = "evalbook") -> list[str]:
    names = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        full = f"{prefix} {name}"
        sub = getattr(cmd, "commands", None)
        names.extend(_commands(cmd, ctx, full) if sub else [full])
    return names


def test_readme_lists_every_command() -> None:
    root = typer.main.get_command(app)
    commands = _commands(root, typer.Context(root))
    assert "evalbook run" in commands and "evalbook runs show" in commands
    missing = [c for c in commands if f"`{c}" not in README]
    assert not missing, f"README does not document {missing}"


def test_readme_lists_every_provider_and_scorer() -> None:
    assert not [p for p in PROVIDERS.names() if f"`{p}`" not in README]
    assert not [s for s in SCORERS.names() if f"`{s}`" not in README]


def test_readme_starts_with_the_two_setup_commands() -> None:
    lines = [line for line in README.splitlines()[:8] if line.startswith("python3 -m venv")]
    assert len(lines) == 2
    assert lines[0].endswith("pip install -e . && evalbook quickstart")
    assert lines[1].endswith("pip install -e '.[test]' && pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -e '.[test]'" in ci and "\npytest\n" in ci
