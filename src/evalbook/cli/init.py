"""``evalbook init [DIR]``: a suite a new user can run at once, and read to learn the format.

It writes ``suite.yaml`` (two prompt versions, scorers, the embedded model) and
``cases.jsonl`` (its dataset) into DIR, and refuses to overwrite a file unless ``--force``.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import typer

from evalbook.errors import ConfigError

#: What init writes: the file's name in DIR → its packaged template.
SCAFFOLD = {"suite.yaml": "init_suite.yaml", "cases.jsonl": "init_cases.jsonl"}


def init_command(
    directory: Path = typer.Argument(
        Path("."), metavar="[DIR]", help="Where to write the suite (created if missing)."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite files that exist."),
) -> None:
    """Write a suite you can run at once: two prompt versions, a dataset, scorers, a model."""
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{directory} exists and is not a folder")
    targets = {directory / name: template for name, template in SCAFFOLD.items()}
    existing = [str(path) for path in targets if path.exists()]
    if existing and not force:
        raise ConfigError(
            f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''};"
            " nothing was written (--force overwrites)"
        )
    directory.mkdir(parents=True, exist_ok=True)
    package = files("evalbook.quickstart")
    for path, template in targets.items():
        path.write_text(package.joinpath(template).read_text(encoding="utf-8"), encoding="utf-8")
        typer.echo(f"wrote {path}")
    suite = directory / "suite.yaml"
    typer.echo(
        "\nNext:\n"
        f"  evalbook run {suite} --prompt-version 1 --alias v1\n"
        f"  evalbook run {suite} --alias v2\n"
        "  evalbook compare --alias v1 --alias v2\n"
        "It runs on the embedded SmolLM2-135M model (downloaded once, no key);"
        " --model picks another (evalbook providers list)."
    )
