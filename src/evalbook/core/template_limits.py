"""The sandbox's limits: a template can neither freeze the process nor fill its memory.

Templates arrive over the API from anyone holding a key, so rendering one must be bounded
in time and size whatever it says. Jinja's own sandbox stops attribute tricks; these
guards stop the cheap bombs it leaves open:

- ``range`` is the sandbox's bounded one (at most 100,000 items), never the builtin;
- every operation that can grow a value in one step (``*``, ``+``, ``%``, ``**``, ``~``,
  string methods such as ``center`` or ``replace``, filters such as ``indent`` or
  ``join``) checks the size of its result *before* computing it;
- whatever a call, filter or block produces is checked after it, so no chain of small
  growths can pass the cap either;
- every ``for`` loop, call, operator and piece of output checks the render's deadline, so
  a loop that prints nothing cannot run for ever. The deadline is in CPU time of the
  rendering thread (``time.thread_time``): a render that waits for the GIL behind a busy
  process is not cut short, one that computes for its whole allowance is.

A limit that is hit raises :class:`RenderLimitError` (a Jinja ``SecurityError``), which
:func:`evalbook.core.templating.render_string` turns into a ``TemplateError`` naming the
case: the case errors, the run goes on.
"""

from __future__ import annotations

import json
import operator
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range
from jinja2.visitor import NodeTransformer

__all__ = [
    "DEFAULT_LIMITS",
    "GuardedEnvironment",
    "RenderLimitError",
    "RenderLimits",
    "render_budget",
]


@dataclass(frozen=True)
class RenderLimits:
    """How large a rendered template may be (characters) and how long it may take."""

    max_chars: int = 1_000_000
    max_seconds: float = 1.0


DEFAULT_LIMITS = RenderLimits()


class RenderLimitError(SecurityError):
    """A template went past a limit of the sandbox (size, time or integer size)."""


#: Everything one render may produce along the way (values, blocks, the output), as a
#: multiple of ``max_chars``: intermediate values are bounded in sum, not only one by one.
PRODUCED_FACTOR = 20


class _Budget:
    __slots__ = ("deadline", "limits", "produced")

    def __init__(self, limits: RenderLimits, deadline: float | None) -> None:
        self.limits = limits
        self.deadline = deadline
        self.produced = 0

    def charge(self, n: int) -> None:
        self.produced += n
        if self.produced > PRODUCED_FACTOR * self.limits.max_chars:
            raise RenderLimitError(
                f"the template computed more than {PRODUCED_FACTOR * self.limits.max_chars:,}"
                " characters of values while rendering"
            )

    def tick(self) -> None:
        if self.deadline is not None and time.thread_time() > self.deadline:
            raise RenderLimitError(
                f"rendering took longer than {self.limits.max_seconds:g} s of CPU time"
                " (the render time limit, EVALBOOK_RENDER_TIMEOUT_S)"
            )

    def size(self, n: int, what: str = "the rendered text") -> None:
        if n > self.limits.max_chars:
            raise RenderLimitError(
                f"{what} would be {n:,} characters, over the limit of"
                f" {self.limits.max_chars:,} (EVALBOOK_MAX_PROMPT_CHARS)"
            )


_ACTIVE: ContextVar[_Budget | None] = ContextVar("evalbook_render_budget", default=None)
# Outside a render (Jinja folding constants at compile time): sizes only, no deadline.
_IDLE = _Budget(DEFAULT_LIMITS, None)


def _budget() -> _Budget:
    return _ACTIVE.get() or _IDLE


@contextmanager
def render_budget(limits: RenderLimits) -> Iterator[None]:
    """Bound every template evaluation inside the block by ``limits``."""
    token = _ACTIVE.set(_Budget(limits, time.thread_time() + limits.max_seconds))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _sized(value: Any, limit: int | None = None) -> int | None:
    """The volume of a value: the characters of a text; for a collection, its items plus
    the volume of what they hold (what printing, copying, sorting or joining it costs).
    ``None`` for values without one (numbers). The walk stops once past ``limit``."""
    if isinstance(value, str | bytes):
        return len(value)
    if not isinstance(value, list | tuple | set | frozenset | dict):
        return None
    stop = limit if limit is not None else _budget().limits.max_chars
    total = 0
    stack: list[Any] = [value]
    while stack and total <= stop:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, dict):
            total += len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item)
            stack.extend(item)
    return total


def _check_result(value: Any, what: str) -> Any:
    n = _sized(value)
    if n is not None:
        budget = _budget()
        budget.size(n, what)
        budget.charge(n)
    return value


# -- operators --------------------------------------------------------------------------

_MAX_INT_BITS = 100_000  # ~30,000 digits: far past any prompt, far short of a stall
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORMAT_NUMBERS = re.compile(r"\d+")


def _check_ints(values: Iterable[Any], budget: _Budget, what: str) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            budget.size(value, what)


def _check_percent(fmt: str, args: Any, budget: _Budget) -> None:
    widths: list[int] = []
    for m in _PERCENT_SPEC.finditer(fmt):
        widths.extend(int(g) for g in m.groups() if g and g != "*")
    _check_ints(widths, budget, "a width in the format string")
    values = args if isinstance(args, tuple) else (args,)
    _check_ints(values, budget, "a width given to the format string")
    budget.size(len(fmt) + sum(len(str(v)) for v in values if _sized(v) is not None))


def _check_brace_format(fmt: str, args: Iterable[Any], budget: _Budget) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if spec:
            _check_ints(
                (int(n) for n in _FORMAT_NUMBERS.findall(spec)),
                budget,
                "a width in the format string",
            )
    _check_ints(args, budget, "a width given to the format string")


def _binop(op: str, left: Any, right: Any) -> Any:
    budget = _budget()
    budget.tick()
    if op == "*":
        for seq, times in ((left, right), (right, left)):
            n = _sized(seq)
            if n is not None and isinstance(times, int):
                budget.size(n * max(times, 0), "a repeated value")
        both_ints = isinstance(left, int) and isinstance(right, int)
        if both_ints and left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise RenderLimitError("an integer in the template would be too large")
    elif op == "+":
        a, b = _sized(left), _sized(right)
        if a is not None and b is not None:
            budget.size(a + b, "a joined value")
    elif op == "**":
        grows = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if grows and right * left.bit_length() > _MAX_INT_BITS:
            raise RenderLimitError("an integer in the template would be too large")
    elif op == "%" and isinstance(left, str):
        _check_percent(left, right, budget)
    return _check_result(_BINOPS[op](left, right), "a computed value")


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "*": operator.mul,
    "+": operator.add,
    "**": operator.pow,
    "%": operator.mod,
}


# -- calls to str methods ---------------------------------------------------------------


def _check_str_method(name: str, text: str | bytes, args: tuple[Any, ...], budget: _Budget) -> None:
    try:
        _str_method_size(name, text, args, budget)
    except (TypeError, ValueError, AttributeError):
        return  # wrong argument types: the call itself will say so


def _str_method_size(name: str, text: Any, args: tuple[Any, ...], budget: _Budget) -> None:
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_ints(args[:1], budget, f"the width given to {name}()")
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        tabs = text.count("\t" if isinstance(text, str) else b"\t")
        budget.size(len(text) + tabs * max(size, 0), "the text with tabs expanded")
    elif name == "replace" and len(args) >= 2:
        old, new = args[0], args[1]
        hits = text.count(old) if old else len(text) + 1
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            hits = min(hits, args[2])
        budget.size(len(text) + hits * max(len(new) - len(old), 0), "the replaced text")
    elif name in ("format", "format_map") and isinstance(text, str):
        values = list(args)
        if name == "format_map" and args and isinstance(args[0], dict):
            values = list(args[0].values())
        _check_brace_format(text, values, budget)
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((n for v in args[0].values() if (n := _sized(v)) is not None), default=1)
        budget.size(len(text) * max(longest, 1), "the translated text")
    elif name == "join" and args and isinstance(args[0], list | tuple | str):
        items = args[0]
        total = sum(len(i) for i in items if isinstance(i, str | bytes))
        budget.size(total + len(text) * max(len(items) - 1, 0), "the joined text")


class _Guards(NodeTransformer):
    """Rewrite a parsed template so that loops and ``~`` go through the guards."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _ITER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(list(node.nodes), lineno=node.lineno)
        return nodes.Filter(items, _JOIN, [], [], None, None, lineno=node.lineno)


_ITER = "evalbook_bounded_iteration"
_JOIN = "evalbook_bounded_join"


@jinja2.pass_context  # a context filter is never folded into a constant at compile time
def _bounded_iteration(_context: Any, iterable: Any) -> Iterator[Any]:
    budget = _budget()
    for i, item in enumerate(iterable):
        if not i & 63:
            budget.tick()
        yield item


@jinja2.pass_context
def _bounded_join(_context: Any, items: list[Any]) -> str:
    texts = [str(item) for item in items]
    budget = _budget()
    budget.tick()
    total = sum(map(len, texts))
    budget.size(total, "a joined value (~)")
    budget.charge(total)
    return "".join(texts)


def _guarded_concat(parts: Iterable[str]) -> str:
    """Jinja's ``concat`` (every block, macro and the whole output): counts as it goes."""
    budget = _budget()
    limit = budget.limits.max_chars
    out: list[str] = []
    total = 0
    for i, part in enumerate(parts):
        total += len(part)
        if total > limit:
            budget.size(total)
        if not i & 63:
            budget.tick()
        out.append(part)
    budget.charge(total)
    return "".join(out)


# -- filters ----------------------------------------------------------------------------


def _filter_precheck(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    budget = _budget()
    value = args[0] if args else None
    rest = args[1:]
    if name == "center":
        _check_ints(rest[:1] or [kwargs.get("width", 80)], budget, "the width given to center")
    elif name == "indent":
        width = rest[0] if rest else kwargs.get("width", 4)
        lines = str(value).count("\n") + 1
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        budget.size(len(str(value)) + lines * max(unit, 0), "the indented text")
    elif name == "wordwrap":
        wrap = rest[2] if len(rest) > 2 else kwargs.get("wrapstring") or "\n"
        budget.size(len(str(value)) * (1 + len(str(wrap))), "the wrapped text")
    elif name in ("batch", "slice"):
        _check_ints(rest[:1], budget, f"the count given to {name}")
    elif name == "format" and isinstance(value, str):
        _check_percent(value, tuple(rest) or tuple(kwargs.values()), budget)
    elif name == "replace" and len(rest) >= 2 and isinstance(value, str):
        _check_str_method("replace", value, tuple(rest), budget)
    elif name == "join" and isinstance(value, list | tuple):
        sep = rest[0] if rest else kwargs.get("d", "")
        total = sum(len(str(v)) for v in value) + len(str(sep)) * max(len(value) - 1, 0)
        budget.size(total, "the joined text")
    elif name == "sum":
        start = rest[1] if len(rest) > 1 else kwargs.get("start", 0)
        if not isinstance(start, int | float):
            raise RenderLimitError("sum() in a template adds numbers only")
    elif name == "tojson":
        indent = rest[0] if rest else kwargs.get("indent")
        if isinstance(indent, int) and indent > 16:
            raise RenderLimitError("tojson's indent is limited to 16")


def _js_value(value: Any) -> Any:
    """``value`` as JavaScript would write it in JSON: a whole float as an integer,
    NaN and the infinities as null."""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {str(k): _js_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_js_value(v) for v in value]
    return value


def _dump(value: Any, spaces: Any = None) -> str:
    """Nunjucks' ``dump``: ``JSON.stringify(value, null, spaces)``, so a promptfoo
    template renders as it does there: compact, keys in their order, non-ASCII as
    written; ``spaces`` (a count, at most 10, or a string, its first 10 characters)
    indents."""
    indent: int | str | None = None
    if isinstance(spaces, bool):
        indent = None
    elif isinstance(spaces, int):
        indent = min(spaces, 10) if spaces >= 1 else None
    elif isinstance(spaces, str) and spaces:
        indent = spaces[:10]
    separators = (",", ":") if indent is None else (",", ": ")
    # Anything else (a date from YAML) as its text; a missing variable raises as ever.
    return json.dumps(
        _js_value(value), ensure_ascii=False, indent=indent, separators=separators, default=str
    )


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # A filter that takes the context or environment first has the value second.
    passes_first = getattr(func, "jinja_pass_arg", None) is not None

    def guarded(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        _filter_precheck(name, args[1:] if passes_first else args, kwargs)
        return _check_result(func(*args, **kwargs), f"the output of the {name!r} filter")

    for attr in ("jinja_pass_arg", "jinja_async_variant"):
        if hasattr(func, attr):
            setattr(guarded, attr, getattr(func, attr))
    guarded.__name__ = getattr(func, "__name__", name)
    guarded.__doc__ = func.__doc__
    return guarded


class GuardedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits of the module docstring."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.concat = _guarded_concat  # type: ignore[method-assign]
        self.filters["dump"] = _dump
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.filters[_ITER] = _bounded_iteration
        self.filters[_JOIN] = _bounded_join

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        return _binop(operator, left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str | bytes):
            method = getattr(target, "__name__", "")
            if method == "join" and args and not isinstance(args[0], list | tuple | str):
                args = (list(args[0]), *args[1:])  # measured first, so read it once
            _check_str_method(method, owner, (*args, *kwargs.values()), budget)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_result(result, "the result of a call")

    def _generate(
        self,
        source: nodes.Template,
        name: str | None,
        filename: str | None,
        defer_init: bool = False,
    ) -> str:
        # Jinja's documented hook between parsing and code generation.
        return super()._generate(_Guards().visit(source), name, filename, defer_init)


def bounded_globals() -> dict[str, Any]:
    """The only globals a template sees: pure helpers, ``range`` bounded by the sandbox."""
    return {"range": safe_range, "len": len, "enumerate": enumerate, "zip": zip}
