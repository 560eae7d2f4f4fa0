"""The pages' sandbox keeps its verdicts per (type, attribute) and they stay the sandbox's:
what it refuses is refused the first time and every time after, what it allows is
allowed."""

from __future__ import annotations

import pytest
from jinja2.exceptions import SecurityError

from evalbook.server.web.templating import PageEnvironment


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
