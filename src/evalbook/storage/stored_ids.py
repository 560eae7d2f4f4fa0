"""Results stored under another id than the one their writer gives them.

A result's id names its item ``(run_id, case_id, epoch)`` (``core.identity.result_id``),
but runs recorded by a release before ordered ids hold uuid5 ids. An errored item a
resume of such a run asks again, or a result delivered again by a newer worker of a
fleet while an older one recorded it (a rolling upgrade), is matched here by its item
and written over the stored row under the stored id, instead of failing the batch on
the item's unique key.

Only on the path that asks what is stored (``ResultWriterSQL.write`` with ``probe``): a
batch taken to be new is refused by that key, rolled back, and comes this way (as every
batch of a resume that holds an item stored already does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evalbook.storage.bulk import ResultRows

__all__ = ["SPENT", "adopt_stored_ids"]

#: What a stored result spent, as the run's cost counts it (a cached answer: nothing).
SPENT = "CASE WHEN cached THEN NULL ELSE cost_usd END"


def adopt_stored_ids(cursor: Any, rows: ResultRows, dialect: str) -> dict[str, float | None]:
    """Give each result of ``rows`` whose item is stored under another id that id; return
    the stored items' ids (as ``rows`` now names them), each with what its row spent
    (:data:`SPENT`: the SQLite writer charges the difference; one query asks both)."""
    rows.complete()
    mine = {(r["run_id"], r["case_id"], r["epoch"]): r["id"] for r in rows.results}
    runs = sorted({run_id for run_id, _, _ in mine})
    cases = sorted({case_id for _, case_id, _ in mine})
    select = f"SELECT run_id, case_id, epoch, id, {SPENT} FROM results WHERE"
    if dialect == "postgresql":
        cursor.execute(f"{select} run_id = ANY(%s) AND case_id = ANY(%s)", (runs, cases))
    else:
        in_runs, in_cases = ", ".join("?" * len(runs)), ", ".join("?" * len(cases))
        cursor.execute(f"{select} run_id IN ({in_runs}) AND case_id IN ({in_cases})", runs + cases)
    renamed = {}
    stored: dict[str, float | None] = {}
    for run_id, case_id, epoch, stored_id, value in cursor.fetchall():
        given = mine.get((run_id, case_id, epoch))
        if given is None:  # another item of these runs and cases
            continue
        stored[stored_id] = value
        if given != stored_id:
            renamed[given] = stored_id
    if renamed:
        rows.rename(renamed)
    return stored
