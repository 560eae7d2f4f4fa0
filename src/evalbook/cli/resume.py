"""``evalbook resume RUN``: continue an interrupted or canceled run (``evalbook resume latest``:
the newest run, the one just stopped)."""

from __future__ import annotations

import typer

from evalbook.cli.execution import finish, run_in_terminal
from evalbook.cli.store import open_store
from evalbook.executor.launch import load_for_resume
from evalbook.storage.run_refs import RUN_HELP, named_run


def resume_command(
    run_id: str = typer.Argument(..., metavar="RUN", help=RUN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the run record as JSON."),
) -> None:
    """Continue an interrupted or canceled run: only the cases it has not recorded are asked.

    The run goes on with the suite, prompt version and model it was started with (as
    recorded, whatever the suite file says now). A run another process is executing is
    refused; `evalbook runs list` shows a run whose process is gone as `interrupted`.
    """
    store = open_store()
    job = load_for_resume(store, named_run(store, run_id).id)
    finish(run_in_terminal(store, job, as_json=as_json))
