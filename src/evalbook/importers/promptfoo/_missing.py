"""Variables a promptfoo test does not give, filled as promptfoo renders them.

Nunjucks renders a missing variable, and any attribute of one (``{{ x.name }}``,
``{{ x['a'].b }}``), as empty text, and such an attribute is false in ``{% if %}``;
evalbook's templates stop on a missing variable (``StrictUndefined``). For an imported
config only (native suites keep stopping), a test without ``x`` gets ``x`` as ``""``,
or, when a template prints attributes of it or tests them in ``if``, as the object of
exactly those attributes with ``""`` at each end: the same text as promptfoo's. An
attribute used any other way (``{{ x.items | join(', ') }}``, which nunjucks cannot
join either) is not filled, so it still stops the case.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jinja2
from jinja2 import nodes

from evalbook.importers._model import ImportReport

__all__ = ["empty_shapes", "fill_missing_vars"]

_DEFAULTED = re.compile(
    r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*\|\s*(?:default|d)\(\s*"
    r"""(?:'([^'\\]*)'|"([^"\\]*)")\s*\)"""
)

#: What every evalbook template can read besides a case's vars.
_CONTEXT = {"expected", "choices", "case_id", "section"}


def fill_missing_vars(
    versions: list[Any], cases: list[dict[str, Any]], file: str, line: int | None,
    report: ImportReport,
) -> None:  # fmt: skip
    """promptfoo renders a variable a test does not give as empty text; evalbook stops on
    it. The cases get those variables as ``""``, so the import runs as promptfoo ran; one
    the templates read attributes of (``{{ x.name }}``) as the object of those attributes,
    each ``""`` (:func:`empty_shapes`)."""
    from evalbook.core.templating import template_variables
    from evalbook.errors import TemplateError

    wanted: set[str] = set()
    shapes: dict[str, Any] = {}
    #: `{{ x | default('text') }}`: a test without x renders the text in promptfoo
    defaults: dict[str, str] = {}
    for version in versions:
        body = version.body
        texts = [body] if isinstance(body, str) else [
            body.get("system") or "", *(m["content"] for m in body.get("messages", []))
        ]  # fmt: skip
        for text in texts:
            try:
                wanted |= template_variables(text)
            except TemplateError:
                continue  # the suite loader reports the template itself
            _merge(shapes, empty_shapes(text))
            for name, single, double in _DEFAULTED.findall(text):
                defaults.setdefault(name, single or double)
    wanted -= _CONTEXT
    filled: dict[str, int] = {}
    for case in cases:
        for name in sorted(wanted - set(case["vars"])):
            fill = shapes[name] if name in shapes else defaults.get(name, "")
            case["vars"][name] = copy.deepcopy(fill)
            filled[name] = filled.get(name, 0) + 1
    for name, count in filled.items():
        value = shapes.get(name, defaults.get(name, ""))
        report.note(
            file, line, f"var {name}",
            f"{count} test(s) do not give it; set to {value!r} there, as promptfoo renders it"
            + (" (the template's default)" if name in defaults else ""),
            mapped=True,
        )  # fmt: skip


def _path(node: nodes.Node) -> tuple[str, list[str]] | None:
    """``x.a['b'].c`` as ``("x", ["a", "b", "c"])``; ``None`` for anything else."""
    keys: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str)
        ):
            keys.append(node.arg.value)
            node = node.node
        elif isinstance(node, nodes.Name) and keys:
            return node.name, keys[::-1]
        else:
            return None


def _read_as_text(tree: nodes.Template) -> list[nodes.Node]:
    """The expressions a template prints as they are, or tests for truth in ``if``."""
    found: list[nodes.Node] = []
    for output in tree.find_all(nodes.Output):
        found.extend(n for n in output.nodes if not isinstance(n, nodes.TemplateData))
    conditions: list[nodes.Node] = [n.test for n in tree.find_all(nodes.If)]
    conditions += [n.expr1 for n in tree.find_all(nodes.CondExpr)]
    conditions += [n.test for n in tree.find_all(nodes.CondExpr)]
    while conditions:
        node = conditions.pop()
        if isinstance(node, nodes.Not):
            conditions.append(node.node)
        elif isinstance(node, nodes.And | nodes.Or):
            conditions += [node.left, node.right]
        else:
            found.append(node)
    return found


def empty_shapes(text: str) -> dict[str, Any]:
    """Variable → the object of the attribute paths ``text`` prints or tests (``""`` at
    each end); a path that is also the start of a longer one is left out (nunjucks
    would print it empty, an object here would not)."""
    try:
        tree = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError:
        return {}
    shapes: dict[str, Any] = {}
    for node in _read_as_text(tree):
        found = _path(node)
        if found is None:
            continue
        name, keys = found
        _merge(shapes, {name: _nest(keys)})
    return shapes


def _nest(keys: list[str]) -> dict[str, Any]:
    out: Any = ""
    for key in reversed(keys):
        out = {key: out}
    return dict(out)


def _merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        have = into.get(key)
        if isinstance(have, dict) and isinstance(value, dict):
            _merge(have, value)
        elif key not in into or isinstance(value, dict):
            into[key] = value
