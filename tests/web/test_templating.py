"""What the pages keep to render faster stays correct: the sandbox's verdicts per (type,
attribute) stay the sandbox's (refused the first time and every time after), and a
finished run's board card is rendered again whenever what it shows changes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from jinja2.exceptions import SecurityError

from evalbook.core.run import RunStatus
from evalbook.server.web.templating import PageEnvironment
from evalbook.storage.store import Store
from tests.server.resources import finished_run
from tests.web.harness import run_async


def render(env: PageEnvironment, source: str, **context: object) -> str:
    return env.from_string(source).render(**context)


def test_refused_attributes_stay_refused_when_asked_again() -> None:
    env = PageEnvironment(autoescape=True)

    def f() -> None:
        pass

    for _ in range(3):  # the first verdict is computed, the others are the kept one
        with pytest.raises(SecurityError):
            render(env, "{{ items.append(1) }}", items=[])
        with pytest.raises(SecurityError):
            render(env, "{{ d.clear() }}", d={"a": 1})
        assert render(env, "{{ f.__globals__ }}", f=f) == ""  # an unsafe attribute: undefined
        assert render(env, "{{ items.index(2) }}", items=[1, 2]) == "1"
        assert render(env, "{{ d.keys()|list }}", d={"a": 1}) == "[&#39;a&#39;]"
        assert render(env, "{{ s.upper() }}", s="<b>") == "&lt;B&gt;"


def test_the_same_name_on_another_type_gets_its_own_verdict() -> None:
    env = PageEnvironment(autoescape=True)

    class Box:
        def pop(self) -> str:
            return "popped"

    assert render(env, "{{ b.pop() }}", b=Box()) == "popped"  # not a known mutable
    with pytest.raises(SecurityError):
        render(env, "{{ items.pop() }}", items=[1])  # list.pop mutates
    assert render(env, "{{ b.pop() }}", b=Box()) == "popped"


def test_a_finished_runs_card_is_rendered_once_per_state(store: Store) -> None:
    from evalbook.server.web.cards import card_html, clear_cards
    from evalbook.storage.activity import progress_grid
    from evalbook.storage.runs import get_workspace_run

    clear_cards()
    run = run_async(lambda: finished_run(store))
    item = get_workspace_run(store, "default", run.id)
    grid = progress_grid(store, item.run)
    first = card_html(item, grid)
    assert first is not None and f'data-run="{run.id}"' in first
    assert 'data-status="completed"' in first and "c-passed" in first
    assert card_html(item, grid) is first  # the same state: from memory
    regridded = progress_grid(store, item.run, max_cells=2)  # another grid object
    again = card_html(item, regridded)
    assert again is not None and again is not first and "cells-bucketed" in again
    canceled = item.run.model_copy(update={"status": RunStatus.canceled})
    other = card_html(replace(item, run=canceled), grid)
    assert other is not None and 'data-status="canceled"' in other
    assert (
        card_html(
            replace(item, run=item.run.model_copy(update={"status": RunStatus.running})), grid
        )
        is None
    )
    clear_cards()
