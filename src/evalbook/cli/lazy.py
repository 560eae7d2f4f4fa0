"""A command group that imports a command's module only when that command runs.

``evalbook --help`` and ``evalbook --version`` should not pay for SQLAlchemy, numpy, the
provider SDKs or FastAPI: each command module imports what it needs, and this group imports
the module of the one command being run. The group's own help lists every command from the
one-line summaries in its table, without importing any of them (``tests/cli`` checks that the
summaries match the commands' own help).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer._click import Context, Parameter
from typer._click import core as click_core
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives (``module:attr``, a function or a Typer sub-app) and its summary."""

    target: str
    summary: str


def plain_flags(params: Iterable[Parameter]) -> None:
    """Show an on/off flag as its names alone (``--cache/--no-cache``), not as ``<bool>``."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


def _plain_flags_everywhere(command: click_core.Command) -> None:
    plain_flags(command.params)
    help_option = command.get_help_option(Context(command))
    if help_option is not None:
        plain_flags([help_option])
    for sub in getattr(command, "commands", {}).values():
        _plain_flags_everywhere(sub)


def load(name: str, entry: LazyCommand) -> click_core.Command:
    """Import the command's module and build its click command, flags shown plainly."""
    module_name, attr = entry.target.split(":")
    target: Any = getattr(importlib.import_module(module_name), attr)
    if isinstance(target, typer.Typer):
        command: click_core.Command = typer.main.get_group(target)
    else:
        holder = typer.Typer(add_completion=False)
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    command.name = name
    _plain_flags_everywhere(command)
    return command


class LazyGroup(TyperGroup):
    """A Typer group whose commands come from :data:`LAZY_COMMANDS`, imported on first use."""

    lazy_commands: dict[str, LazyCommand] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return [*self.commands, *(n for n in self.lazy_commands if n not in self.commands)]

    def get_command(self, ctx: Context, cmd_name: str) -> click_core.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None:
            return found
        entry = self.lazy_commands.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the group's help needs the name and summary only
            return TyperCommand(name=cmd_name, help=entry.summary)
        command = load(cmd_name, entry)
        self.commands[cmd_name] = command
        return command

    def get_params(self, ctx: Context) -> list[Parameter]:
        params = super().get_params(ctx)
        plain_flags(params)
        return params

    def format_help(self, ctx: Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
