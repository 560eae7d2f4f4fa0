"""The board's progress grid: one cell per plan item, or items sharing a cell in big runs,
each cell's worst state so far and the case a click opens."""

from __future__ import annotations

import evalbook
from evalbook.storage.activity import plan_keys, progress_grid
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict


def _suite() -> evalbook.Suite:
    return load_suite_from_dict(
        {
            "id": "grid",
            "name": "Grid",
            "prompt": "{{ word }}",
            "scorers": [{"equals": "yes"}],
            "cases": [
                {"id": f"c{i}", "vars": {"word": "no" if i == 4 else "yes"}} for i in range(7)
            ],
        }
    )


async def test_cells_follow_the_plan_with_epochs(store: Store) -> None:
    run = await evalbook.arun(_suite(), model="mock:echo", store=store, epochs=2)
    keys = plan_keys(store, run)
    assert keys[:2] == [("c0", 0), ("c1", 0)] and keys[7] == ("c0", 1) and len(keys) == 14
    grid = progress_grid(store, run)
    assert grid.per == 1 and grid.total == 14
    states = [state for state, _done, _first in grid.cells]
    assert states == ["passed"] * 4 + ["failed"] + ["passed"] * 6 + ["failed"] + ["passed"] * 2
    assert grid.cells[11][2] == ("c4", 1)


async def test_big_runs_share_cells_and_keep_the_worst_state(store: Store) -> None:
    run = await evalbook.arun(_suite(), model="mock:echo", store=store, epochs=2)
    grid = progress_grid(store, run, max_cells=4)
    assert grid.per == 4 and len(grid.cells) == 4
    assert [c[0] for c in grid.cells] == ["passed", "failed", "failed", "passed"]
    assert [c[1] for c in grid.cells] == [4, 4, 4, 2]
    assert [c[2] for c in grid.cells] == [("c0", 0), ("c4", 0), ("c1", 1), ("c5", 1)]
