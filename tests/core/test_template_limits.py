"""The sandbox's limits: no template freezes the process or fills its memory, and the
templates people write still render exactly as before."""

from __future__ import annotations

import pytest

from evalbook.core.templating import RenderLimits, render_string
from evalbook.errors import TemplateError

BIG = 2_000_000_000


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ('{{ "a" * 2000000000 }}', "2,000,000,000 characters"),
        ('{{ ["a"] * 2000000000 }}', "a repeated value would be"),
        ('{{ 2000000000 * "a" }}', "2,000,000,000 characters"),
        ("{% for i in range(2000000000) %}x{% endfor %}", "MAX_RANGE"),
        ('{{ "a"|center(2000000000) }}', "width given to center"),
        ('{{ "a".center(2000000000) }}', "width given to center()"),
        ('{{ "a".ljust(2000000000) }}', "width given to ljust()"),
        ('{{ "a".zfill(2000000000) }}', "width given to zfill()"),
        ('{{ "%2000000000s" % "a" }}', "a width in the format string"),
        ('{{ "%s"|format("a") ~ "%2000000000d"|format(1) }}', "a width in the format string"),
        ('{{ "{:>2000000000}".format("a") }}', "a width in the format string"),
        ('{{ "{:>{w}}".format("a", w=2000000000) }}', "a width given to the format string"),
        ('{% set a = "x" * 900000 %}{{ a ~ a }}', "a joined value (~)"),
        ('{% set a = "x" * 900000 %}{{ a + a }}', "a joined value"),
        ('{% set a = "x" * 2000 %}{{ a|replace("x", a) }}', "the replaced text"),
        ('{% set a = "x" * 2000 %}{{ a.replace("x", a) }}', "the replaced text"),
        ('{{ ("a\\n" * 400000)|indent(1000) }}', "the indented text"),
        ('{{ range(100000)|map("center", 900000)|list|length }}', "computed more than"),
        ('{{ ([["x"] * 1000000] * 1000) }}', "characters"),
        ("{{ [[1] * 1000] * 1000|sum(start=[]) }}", "adds numbers only"),
        ("{{ (10 ** 100) ** 100000 }}", "integer"),
        ("{% set x %}{% for i in range(100000) %}{{ s }}{% endfor %}{% endset %}{{ x }}", "1,0"),
        ('{{ "a\tb".expandtabs(2000000000) }}', "tabs expanded"),
        ("{{ [1]|batch(2000000000, 0)|list }}", "count given to batch"),
        ("{{ {'a': 1}|tojson(indent=100000) }}", "indent is limited"),
    ],
)
def test_growth_is_refused_before_it_happens(template: str, says: str) -> None:
    with pytest.raises(TemplateError, match="case 'c1'") as info:
        render_string(template, {"s": "y" * 2000}, case_id="c1")
    assert says in str(info.value)


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}{% endfor %}{% endfor %}",
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(60) }}",
    ],
)
def test_a_render_that_runs_too_long_is_stopped(template: str) -> None:
    limits = RenderLimits(max_seconds=0.3)
    with pytest.raises(TemplateError, match=r"longer than 0\.3 s"):
        render_string(template, {"s": "y" * 2000}, case_id="c1", limits=limits)


def test_the_size_limit_is_settable_and_counts_the_output() -> None:
    limits = RenderLimits(max_chars=100)
    assert render_string("{{ 'a' * 100 }}", {}, limits=limits) == "a" * 100
    with pytest.raises(TemplateError, match="101 characters, over the limit of 100"):
        render_string("{{ 'a' * 100 }}b", {}, limits=limits)
    with pytest.raises(TemplateError, match="over the limit of 100"):
        render_string("x" * 101, {}, limits=limits)  # plain text, not a template
    with pytest.raises(TemplateError, match="over the limit of 100"):
        render_string("{% for i in range(60) %}ab{% endfor %}", {}, limits=limits)


def test_other_failures_are_template_errors_naming_the_case() -> None:
    for template in ("{{ 1 / 0 }}", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"):
        with pytest.raises(TemplateError, match="case 'c9'"):
            render_string(template, {}, case_id="c9")
    with pytest.raises(TemplateError, match=r"unsafe|not safely|cannot"):
        render_string("{{ items.append(1) }}", {"items": []}, case_id="c9")


@pytest.mark.parametrize(
    ("template", "variables", "want"),
    [
        ("Q: {{ q }}", {"q": "x"}, "Q: x"),
        ("Q: {{ q }}\n", {"q": "x"}, "Q: x\n"),
        ("Q: {{ q }}\n\n", {"q": "x"}, "Q: x\n\n"),
        ("{{ choices | join(', ') }}", {"choices": ["a", "b"]}, "a, b"),
        ("{{ 'ab' ~ q ~ 1 }}", {"q": "x"}, "abx1"),
        ("{{ q * 3 }}|{{ q + 'y' }}|{{ '%s-%02d' % (q, 7) }}", {"q": "x"}, "xxx|xy|x-07"),
        ("{{ '{}:{:>4}'.format(q, 5) }}", {"q": "x"}, "x:   5"),
        ("{{ q|center(5) }}|{{ q|indent(2, first=True) }}", {"q": "x"}, "  x  |  x"),
        (
            "{% for c in choices %}{{ 'ABCD'[loop.index0] }}. {{ c }}\n{% endfor %}Answer:",
            {"choices": ["yes", "no"]},
            "A. yes\nB. no\nAnswer:",
        ),
        ("{% for i in range(3) %}{{ i }}{% endfor %}", {}, "012"),
        ("{{ range(3)|map('string')|join('+') }}", {}, "0+1+2"),
        ("{{ [1, 2, 3]|sum }} {{ 2 ** 10 }}", {}, "6 1024"),
        ("{{ enumerate(['a']) | list }} {{ zip([1], [2]) | list }} {{ len('abc') }}", {}, ""),
    ],
)
def test_ordinary_templates_render_as_written(
    template: str, variables: dict[str, object], want: str
) -> None:
    got = render_string(template, variables)
    if want:
        assert got == want
    else:
        assert got == "[(0, 'a')] [(1, 2)] 3"


def test_block_tag_whitespace_rules_are_the_documented_ones() -> None:
    # The first newline after a block tag goes; so does the indentation before one.
    template = "List:\n  {% for x in xs %}\n- {{ x }}\n  {% endfor %}\nEnd\n"
    assert render_string(template, {"xs": [1, 2]}) == "List:\n- 1\n- 2\nEnd\n"
    # `+%}` keeps the newline after a tag, `{%+` the spaces before it.
    assert render_string("{% if 1 +%}\nyes{% endif %}", {}) == "\nyes"
    assert render_string("  {%+ if 1 %}yes{% endif %}", {}) == "  yes"
    # Expression tags are never trimmed.
    assert render_string("  {{ 1 }}\n", {}) == "  1\n"
