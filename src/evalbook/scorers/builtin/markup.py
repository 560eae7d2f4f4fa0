"""Well-formed markup: is-html (balanced tags) and is-xml (a safe XML parse).

Both look inside the first ```` ```html ```` / ```` ```xml ```` (or untagged) fence when
there is one, as ``is-json`` does, and fail an empty output.

**HTML** has no "invalid" to a browser, which repairs anything, so ``is-html`` checks what
a reviewer means by broken HTML: at least one element, every tag closed in order, no
stray end tags, no tag cut off (``<div`` at the end). Void elements (``<br>``, ``<img>``)
need no end tag, ``<x/>`` closes itself, and the end tags HTML lets you omit (``p``,
``li``, ``td``, ``tr``, ``option``, ``html``, ``body``…) may be omitted. ``<script>`` and
``<style>`` content is not parsed. Attributes and element names are not validated.

**XML** must parse with expat (well-formed: one root, matched tags, quoted attributes,
defined entities). Entity declarations are refused, as defusedxml does: they are what
"billion laughs" expansion and external-entity (XXE) reads are built from, and model
output has no business declaring them. A DOCTYPE may name an external DTD; it is never
fetched.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any, ClassVar, NoReturn
from xml.parsers import expat

from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.output_text import unfence

__all__ = ["IsHtml", "IsXml", "html_problem", "xml_problem"]

_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr"  # noqa: SIM905
    " basefont bgsound frame keygen".split()
)
_OPTIONAL_END = frozenset(
    "p li dt dd option optgroup tr td th thead tbody tfoot colgroup caption"  # noqa: SIM905
    " rt rp rb rtc html head body".split()
)


class _TagBalance(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.elements = 0
        self.problem: str | None = None
        self._after_lt = False

    def _fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return self._fail(f"end tag </{tag}> for a void element")
        if tag not in self.open:
            return self._fail(f"stray end tag </{tag}>")
        while self.open[-1] != tag:
            inner = self.open.pop()
            if inner not in _OPTIONAL_END:
                return self._fail(f"</{tag}> closes <{tag}> while <{inner}> inside it is open")
        self.open.pop()

    def handle_data(self, data: str) -> None:
        # A tag cut off at the end (``<div``) comes back as the data "<" then "div".
        if self._after_lt and (data[:1].isalpha() or data[:1] == "/"):
            self._fail(f"unterminated tag '<{data[:20]}'")
        self._after_lt = data == "<"


def html_problem(text: str) -> str | None:
    """What makes ``text`` broken HTML, or ``None`` when its tags balance."""
    if not text.strip():
        return "output is empty"
    parser = _TagBalance()
    parser.feed(text)
    parser.close()
    if parser.problem is not None:
        return parser.problem
    if parser.elements == 0:
        return "no HTML element"
    unclosed = [t for t in parser.open if t not in _OPTIONAL_END]
    if unclosed:
        return f"<{unclosed[-1]}> is never closed"
    return None


class IsHtml(Scorer):
    """The output is HTML whose tags balance (see the module for what is checked)."""

    takes_value: ClassVar[bool] = False

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        problem = html_problem(unfence(ctx.output or "", ("html",)))
        if problem is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=problem)
        return ScoreOutcome(score=1.0, passed=True, rationale="tags balance")


class _Refused(Exception):
    pass


def _refuse_entities(*_: Any) -> NoReturn:
    raise _Refused("entity declarations are not allowed")


def xml_problem(text: str) -> str | None:
    """Why ``text`` is not well-formed (or safe) XML, or ``None`` when it is."""
    if not text.strip():
        return "output is empty"
    parser = expat.ParserCreate()
    parser.EntityDeclHandler = _refuse_entities
    parser.UnparsedEntityDeclHandler = _refuse_entities
    parser.ExternalEntityRefHandler = _refuse_entities
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        message = expat.errors.messages[exc.code]
        return f"not well-formed XML: {message} at line {exc.lineno} column {exc.offset + 1}"
    except _Refused as exc:
        return str(exc)
    return None


class IsXml(Scorer):
    """The output is well-formed XML, with entity declarations refused (see the module)."""

    takes_value: ClassVar[bool] = False

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        problem = xml_problem(unfence(ctx.output or "", ("xml",)))
        if problem is not None:
            return ScoreOutcome(score=0.0, passed=False, rationale=problem)
        return ScoreOutcome(score=1.0, passed=True, rationale="well-formed XML")
