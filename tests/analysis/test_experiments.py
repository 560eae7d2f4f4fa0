"""An experiment as a matrix (``analysis/experiments.py`` over ``storage/experiments.py``):
its runs in order, each compared with the baseline, the case grid paged by keyset, the
list newest first — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

import evalbook
from evalbook.analysis.experiments import (
    decode_grid_cursor,
    encode_grid_cursor,
    experiment_view,
)
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.storage.experiments import list_experiments
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

N = 23


def _suite() -> Any:
    cases = [
        {
            "id": f"c{i:02d}",
            # version 2 answers "no" on every third case: those regress
            "vars": {"i": i, "b": "no <b>bold</b>" if i % 3 == 0 else "yes"},
        }
        for i in range(N)
    ]
    return load_suite_from_dict(
        {
            "id": "exp",
            "prompt": {
                "name": "exp-prompt",
                "versions": {1: "[[answer=yes {{ i }}]]", 2: "[[answer={{ b }}]] {{ i }}"},
            },
            "scorers": [{"contains": "yes"}],
            "cases": cases,
        }
    )


async def _matrix(store: Store, server: Any, experiment: str) -> list[RunRecord]:
    suite = _suite()
    runs = []
    for name in ("m-a", "m-b"):
        for version in (1, 2):
            runs.append(
                await evalbook.arun(
                    suite,
                    model=f"openai-compatible:{name}@{server.base_url}",
                    prompt_version=version,
                    label=f"{name} · v{version}",
                    experiment_id=experiment,
                    store=store,
                )
            )
    return runs


async def test_the_matrix_grid_and_its_comparisons(store: Store, server: Any) -> None:
    runs = await _matrix(store, server, "exp one")
    view = experiment_view(store, "default", "exp one", limit=10)
    assert [c.run_id for c in view.combinations] == [r.id for r in runs]
    assert [c.label for c in view.combinations] == ["m-a · v1", "m-a · v2", "m-b · v1", "m-b · v2"]
    assert view.baseline == runs[0].id and view.combinations[0].baseline
    assert view.suites == ["exp"]
    # every other combination against the baseline, paired case by case
    by_run = {c.run_id: c for c in view.comparisons}
    assert list(by_run) == [r.id for r in runs[1:]]
    v2 = by_run[runs[1].id]
    assert v2.paired == N and v2.regressions == 8 and v2.fixes == 0  # i % 3 == 0: 8 of 23
    rate = next(m for m in v2.metrics if m.key == "pass_rate")
    assert rate.difference == pytest.approx(-8 / N)
    assert by_run[runs[2].id].regressions == 0
    # the grid: rows = cases in id order, a cell per combination
    rows = view.grid.rows
    assert [r.case_id for r in rows] == [f"c{i:02d}" for i in range(10)]
    first = rows[0]
    assert [c.status if c else None for c in first.cells] == [
        "passed", "failed", "passed", "failed"
    ]  # fmt: skip
    assert first.differs and not rows[1].differs
    assert first.cells[1] is not None and first.cells[1].output == "no <b>bold</b>"
    assert first.cells[0] is not None and first.cells[0].output == "yes 0"
    # keyset pages: 10 + 10 + 3, nothing repeated, nothing lost
    seen = [r.case_id for r in rows]
    cursor = view.grid.next_cursor
    while cursor:
        page = experiment_view(
            store, "default", "exp one", after=decode_grid_cursor(cursor), limit=10
        ).grid
        seen += [r.case_id for r in page.rows]
        cursor = page.next_cursor
    assert seen == [f"c{i:02d}" for i in range(N)]
    # another baseline: the others compare with it
    other = experiment_view(store, "default", "exp one", baseline=runs[1].id, limit=1)
    assert other.baseline == runs[1].id
    assert {c.run_id: c.fixes for c in other.comparisons}[runs[0].id] == 8


async def test_the_list_scoping_and_bad_requests(store: Store, server: Any) -> None:
    first = await _matrix(store, server, "older")
    await _matrix(store, server, "newer")
    await evalbook.arun(
        _suite(), model=f"openai-compatible:x@{server.base_url}", store=store
    )  # no experiment: not listed
    found = list_experiments(store, "default", limit=10)
    assert [e.id for e in found] == ["newer", "older"]
    assert found[0].runs == 4 and found[0].suites == ["exp"] and found[0].running == 0
    page = list_experiments(store, "default", limit=1, after=(found[0].last_at, found[0].id))
    assert [e.id for e in page] == ["older"]
    assert list_experiments(store, "elsewhere", limit=10) == []
    with pytest.raises(NotFoundError):
        experiment_view(store, "elsewhere", "older")  # another workspace's: not found
    with pytest.raises(NotFoundError):
        experiment_view(store, "default", "missing")
    with pytest.raises(UserError, match="not part of experiment"):
        experiment_view(store, "default", "newer", baseline=first[0].id)
    for bad in (
        "not*base64",
        "bm90IGpzb24",
        encode_grid_cursor("c1", 0)[:-3],
        encode_grid_cursor("c1", 2**40),  # past any epoch: refused, not a database error
        encode_grid_cursor("c1", -1),
        encode_grid_cursor("c" * 301, 0),
    ):
        with pytest.raises(UserError):
            decode_grid_cursor(bad)
    assert decode_grid_cursor(encode_grid_cursor("c1", 2)) == ("c1", 2)


async def test_only_the_rows_whose_outputs_differ(store: Store, server: Any) -> None:
    suite = _suite()
    for name in ("m-a", "m-b"):  # two models, one prompt: the same answers
        await evalbook.arun(
            suite, model=f"openai-compatible:{name}@{server.base_url}", prompt_version=2,
            experiment_id="same", store=store,
        )  # fmt: skip
    full = experiment_view(store, "default", "same", limit=50).grid
    assert len(full.rows) == N and not any(r.outputs_differ or r.differs for r in full.rows)
    assert experiment_view(store, "default", "same", differing=True).grid.rows == []
    # a third combination answering otherwise on every case: now every row differs
    await evalbook.arun(
        suite, model=f"openai-compatible:m-c@{server.base_url}", prompt_version=1,
        experiment_id="same", store=store,
    )  # fmt: skip
    page = experiment_view(store, "default", "same", differing=True, limit=20).grid
    assert page.differing and len(page.rows) == 20 and page.next_cursor is not None
    assert all(r.outputs_differ for r in page.rows)
    rest = experiment_view(
        store, "default", "same", differing=True, after=decode_grid_cursor(page.next_cursor)
    ).grid
    assert [r.case_id for r in page.rows + rest.rows] == [f"c{i:02d}" for i in range(N)]
