"""Rendering a prompt version against a case: variables, system placement, images, sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from evalbook.core.messages import ImagePart, Message, TextPart
from evalbook.core.suite import Case, PromptVersion
from evalbook.errors import TemplateError
from evalbook.prompts import missing_variables_everywhere, render_messages, template_context

IMAGE = ImagePart(media_type="image/png", data="aGk=", sha256="0" * 64)


def version(*contents: str, system: str | None = None) -> PromptVersion:
    messages = [Message(role="user", content=c) for c in contents]
    return PromptVersion(version=1, system=system, messages=messages)


def test_vars_and_reserved_names() -> None:
    case = Case(
        id="c1",
        vars={"question": "2+3?"},
        expected="5",
        choices=["4", "5"],
        section="math",
    )
    prompt = version(
        "[{{ case_id }}/{{ section }}] {{ question }} {{ choices | join(',') }} -> {{ expected }}"
    )
    [message] = render_messages(prompt, case)
    assert message == Message(role="user", content="[c1/math] 2+3? 4,5 -> 5")


def test_vars_win_over_reserved_names() -> None:
    case = Case(id="c1", vars={"expected": "from vars"}, expected="from case")
    assert template_context(case)["expected"] == "from vars"
    [message] = render_messages(version("{{ expected }}"), case)
    assert message.content == "from vars"


def test_plain_text_is_untouched() -> None:
    case = Case(id="c1")
    [message] = render_messages(version("no {template} here"), case)
    assert message.content == "no {template} here"


def test_missing_variable_names_case_and_variable() -> None:
    with pytest.raises(TemplateError) as info:
        render_messages(
            version("{{ question }} {{ missing }}"), Case(id="c7", vars={"question": 1})
        )
    assert info.value.case_id == "c7"
    assert info.value.variable == "missing"
    assert "case 'c7'" in str(info.value)
    assert "'missing'" in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ question.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum }}",
        "{{ range.__self__ }}",
    ],
)
def test_sandbox_blocks_escapes(template: str) -> None:
    with pytest.raises(TemplateError):
        render_messages(version(template), Case(id="c1", vars={"question": "q"}))


def test_system_prompt_placement() -> None:
    case = Case(id="c1", vars={"name": "Ada", "tone": "kind"})
    own = render_messages(
        version("Hi {{ name }}", system="Be {{ tone }}."), case, system_prompt="x"
    )
    assert [(m.role, m.content) for m in own] == [("system", "Be kind."), ("user", "Hi Ada")]
    from_model = render_messages(version("Hi"), case, system_prompt="Model {{ name }}")
    assert [(m.role, m.content) for m in from_model] == [("system", "Model Ada"), ("user", "Hi")]
    assert [m.role for m in render_messages(version("Hi"), case)] == ["user"]


def test_case_messages_replace_the_prompt_and_keep_their_system() -> None:
    case = Case(
        id="c1",
        vars={"name": "Ada"},
        messages=[
            Message(role="system", content="Case system for {{ name }}"),
            Message(role="user", content="I am {{ name }}"),
        ],
    )
    rendered = render_messages(version("ignored", system="prompt system"), case)
    assert [(m.role, m.content) for m in rendered] == [
        ("system", "Case system for Ada"),
        ("user", "I am Ada"),
    ]


def test_images_go_to_the_last_user_message() -> None:
    case = Case(
        id="c1",
        vars={"q": "What is it?"},
        assets=[IMAGE],
        messages=[
            Message(role="user", content="first"),
            Message(role="assistant", content="ok"),
            Message(role="user", content="{{ q }}"),
            Message(role="assistant", content="prefill"),
        ],
    )
    rendered = render_messages(version("x"), case)
    assert rendered[0].content == "first"
    assert rendered[2].content == [TextPart(text="What is it?"), IMAGE]
    assert rendered[2].text == "What is it?"
    assert rendered[3].content == "prefill"


def test_images_without_a_user_message_get_one() -> None:
    case = Case(id="c1", assets=[IMAGE], messages=[Message(role="assistant", content="hi")])
    rendered = render_messages(PromptVersion(version=1, messages=[]), case)
    assert rendered[-1] == Message(role="user", content=[IMAGE])


def test_text_parts_are_rendered() -> None:
    prompt = PromptVersion(
        version=1,
        messages=[Message(role="user", content=[TextPart(text="{{ q }}"), IMAGE])],
    )
    [message] = render_messages(prompt, Case(id="c1", vars={"q": "hello"}))
    assert message.content == [TextPart(text="hello"), IMAGE]


def test_rendered_messages_are_valid_models() -> None:
    [system, user] = render_messages(version("{{ q }}", system="s"), Case(id="c", vars={"q": 1}))
    assert Message.model_validate(user.model_dump()) == user
    assert system.model_dump() == {"role": "system", "content": "s"}


def test_missing_variables_everywhere() -> None:
    prompt = version(
        "{{ question }} {{ context }} {{ expected }} {% for i in range(2) %}{{ i }}{% endfor %}",
        system="{{ persona }}",
    )
    cases = [
        Case(id="a", vars={"question": "q"}),
        Case(id="b", vars={"question": "q", "context": "c"}),
    ]
    # `context` is given by one case: that case renders, the other fails on its own.
    assert missing_variables_everywhere(prompt, cases) == {"persona"}
    assert missing_variables_everywhere(prompt, cases[:1]) == {"persona", "context"}
    assert missing_variables_everywhere(version("{{ a }}"), [Case(id="x", vars={"a": 1})]) == set()


def test_missing_variables_of_case_messages() -> None:
    own = Case(id="own", vars={}, messages=[Message(role="user", content="{{ mine }}")])
    prompt = version("{{ prompt_var }}", system="{{ sys }}")
    # Nobody uses the prompt's messages, so only the system text and the case's own count.
    assert missing_variables_everywhere(prompt, [own]) == {"sys", "mine"}
    assert missing_variables_everywhere(version("x"), [own], system_prompt="{{ s }}") == {
        "s",
        "mine",
    }


def test_sandbox_error_says_why() -> None:
    from jinja2.exceptions import SecurityError

    with pytest.raises(TemplateError, match="unsafe") as info:
        render_messages(version("{{ ''.__class__.__mro__ }}"), Case(id="c1"))
    assert isinstance(info.value.__cause__, SecurityError)


_PLAIN_CASES = [
    ("[[answer={{ answer }}]] question number {{ i }}", {"answer": "yes", "i": 3}),
    ("{{x}}", {"x": 2.5}),
    ("{{ x }}\n", {"x": None}),
    ("a {{ x }} b {{x}}", {"x": True}),
    ("}} %} #} {{ y }}", {"y": "z"}),
    ("  {{ a }}  \n  {{ b }}\n\n", {"a": "A\r\nB", "b": -0.0}),
    ("{{ x }}", {"x": 10**30}),
    ("{{ x }}", {"x": "{{ y }}"}),
    ("{{\n x \n}} é ✓", {"x": "ü"}),
    # Jinja decides these: other syntax, keywords, containers, \r in the text.
    ("{{ x }} {% if x %}y{% endif %}\n", {"x": 1}),
    ("{{ x }} {# note #}", {"x": 1}),
    ("{{- x }} a", {"x": 1}),
    ("{{ true }} {{ none }}", {"true": "shadow", "none": "n"}),
    ("{{ x }}", {"x": ["a", 1]}),
    ("{{ x }}", {"x": {"k": "v"}}),
    ("line\r\n{{ x }}", {"x": "v"}),
    ("{{ range }}", {"range": "mine"}),
]


@pytest.mark.parametrize(("source", "variables"), _PLAIN_CASES)
def test_plain_substitution_renders_what_jinja_renders(
    source: str, variables: dict[str, Any]
) -> None:
    from evalbook.core.template_limits import DEFAULT_LIMITS, render_budget
    from evalbook.core.templating import compile_template, render_string

    with render_budget(DEFAULT_LIMITS):
        expected = compile_template(source).render(variables)
    assert render_string(source, variables) == expected


def test_plain_substitution_keeps_jinjas_errors() -> None:
    from evalbook.core.template_limits import RenderLimits
    from evalbook.core.templating import render_string

    with pytest.raises(TemplateError, match="'missing' is undefined"):
        render_string("{{ present }} {{ missing }}", {"present": 1})
    with pytest.raises(TemplateError, match="limit"):
        render_string("{{ x }}{{ x }}", {"x": "y" * 600}, limits=RenderLimits(max_chars=1000))
