"""Arithmetic over named numbers, parsed and never run as code.

A derived metric (promptfoo's ``derivedMetrics``: ``2 * precision * recall / (precision
+ recall)``) is parsed with :mod:`ast` and only numbers, names, ``+ - * / **``,
parentheses and unary minus are accepted; everything else (calls, attributes,
subscripts, comparisons) is refused when the expression is read. A name with no value
counts 0 (as promptfoo's missing metrics do); a division by zero or an overflow gives
no value (``None``), never a made-up number.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping

__all__ = ["ExpressionError", "evaluate", "names_of", "parse_expression"]

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_MAX_EXPONENT = 1000.0


class ExpressionError(ValueError):
    """The text is not an arithmetic expression over names (why, and where)."""


def parse_expression(text: str) -> ast.expr:
    """The checked tree of ``text``; :class:`ExpressionError` names what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"not an arithmetic expression: {exc.msg}") from None
    _check(tree.body)
    return tree.body


def names_of(node: ast.expr) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _check(node: ast.expr) -> None:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ExpressionError(f"{node.value!r} is not a number")
    elif isinstance(node, ast.Name):
        return
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd)):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.operand)
    else:
        raise ExpressionError(
            f"{type(node).__name__} is not allowed (only numbers, names, + - * / **,"
            " parentheses and unary minus)"
        )


def evaluate(node: ast.expr, values: Mapping[str, float]) -> float | None:
    """The value of a checked expression; ``None`` when it has none (division by zero,
    overflow, a complex or non-finite result)."""
    try:
        result = _eval(node, values)
    except (ZeroDivisionError, OverflowError, _NoValue):
        return None
    if isinstance(result, complex) or not math.isfinite(result):
        return None
    return float(result)


class _NoValue(Exception):
    pass


def _eval(node: ast.expr, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        return 0.0 if value is None else float(value)
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Pow) and abs(right) > _MAX_EXPONENT:
            raise _NoValue
        result = _BINARY[type(node.op)](left, right)
        if isinstance(result, complex):
            raise _NoValue
        return result
    raise _NoValue  # pragma: no cover - parse_expression admits nothing else
