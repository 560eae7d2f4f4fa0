"""YAML with line numbers: ``safe_load`` semantics, plus where every item started.

Suite errors must say ``file:line``. :func:`parse_yaml` builds the same values as
``yaml.safe_load`` (no tags that run code), except that mappings and sequences come back
as :class:`LineDict` / :class:`LineList`, which remember the line of the container, of
each key and of each item. :func:`line_at` walks a validation error's path through that
tree to the deepest item it can find; :func:`plain` strips the wrappers before values are
stored on a model.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from evalbook.core.heap import collector_paused
from evalbook.errors import SuiteError

__all__ = ["LineDict", "LineList", "line_at", "parse_yaml", "plain"]


class LineDict(dict[Any, Any]):
    """A mapping read from YAML: ``line`` of the mapping, ``key_lines`` of each key."""

    __slots__ = ("key_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}


class LineList(list[Any]):
    """A sequence read from YAML: ``line`` of the sequence, ``item_lines`` of each item."""

    __slots__ = ("item_lines", "line")

    def __init__(self, line: int | None = None) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


#: How many nodes aliases may add to a document by repeating what they name. A suite that
#: reuses a block (``scorers: *common``) adds a few; an alias bomb (a few KB naming lists
#: of lists of aliases) adds billions and would never finish loading.
MAX_ALIAS_EXPANSION = 1_000_000


class AliasBomb(yaml.YAMLError):
    """The document's aliases expand it past :data:`MAX_ALIAS_EXPANSION` nodes."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _LineLoader(yaml.SafeLoader):
    """``SafeLoader`` whose mappings and sequences carry line numbers, and which refuses
    a document its aliases would blow up before building any of it."""

    #: Whether the document may hold an alias (:func:`_load` says); one that cannot is
    #: not walked to count what its aliases add.
    may_alias = True

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        if self.may_alias:
            _check_expansion(node)
        return self.construct_document(node)


#: libyaml's scanner and parser, when PyYAML was built with them: a suite file of 20,000
#: inline cases took 4.5 s in the pure-Python ones, nine tenths of its load. What is
#: built from their nodes is the same (the constructors and resolver are Python's).
_CSafeLoader: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
_FastLineLoader: type[yaml.SafeLoader] | None = None
if _CSafeLoader is not None:

    class _FastLineLoader(_CSafeLoader):  # type: ignore[no-redef,misc,valid-type]
        may_alias = _LineLoader.may_alias
        get_single_data = _LineLoader.get_single_data


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_expansion(root: yaml.Node) -> None:
    """Count the nodes the document becomes with every alias expanded (memoised, so the
    count itself is linear in the document) and refuse it past the budget."""
    size: dict[int, int] = {}
    refs: dict[int, int] = {}
    nodes: dict[int, yaml.Node] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    on_stack: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            size[key] = 1 + sum(size.get(id(c), 1) for c in _children(node))
            on_stack.discard(key)
            continue
        refs[key] = refs.get(key, 0) + 1
        if key in size or key in on_stack:
            continue  # counted already, or a recursive alias (counted once)
        nodes[key] = node
        on_stack.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node))
    added = size[id(root)] - len(size)
    if added > MAX_ALIAS_EXPANSION:
        worst = max((k for k in refs if refs[k] > 1), key=lambda k: size.get(k, 1) * (refs[k] - 1))
        anchor = nodes[worst]
        raise AliasBomb(
            f"YAML aliases would expand the document by {added:,} nodes (more than"
            f" {MAX_ALIAS_EXPANSION:,}): the anchor at line {_line(anchor)} is repeated"
            f" {refs[worst]} times; write the data out instead of aliasing it",
            _line(anchor),
        )


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Iterator[LineDict]:
    data = LineDict(_line(node))
    yield data
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
            if key_node.value in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key_node.value!r}"
                    f" (first given at line {seen[key_node.value]})",
                    key_node.start_mark,
                )
            seen[key_node.value] = _line(key_node)
    data.update(loader.construct_mapping(node))
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) or key is None:
            data.key_lines.setdefault(key, _line(key_node))


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> Iterator[LineList]:
    data = LineList(_line(node))
    yield data
    data.extend(loader.construct_sequence(node))
    data.item_lines = [_line(item) for item in node.value]


for _loader in (_LineLoader, _FastLineLoader):
    if _loader is not None:
        _loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
        _loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _load(text: str, loader_class: type[yaml.SafeLoader]) -> Any:
    """``yaml.load(text, Loader=loader_class)``, telling the loader whether the text can
    hold an alias. An alias is written ``*name`` and names an anchor written ``&name``
    (one naming none is an error): a text without both characters holds none, and the
    walk counting what aliases add (a fifth of a 20,000-case suite file's parse) is
    skipped.

    Without the cyclic collector meanwhile: the nodes and the values built from them are
    objects that all stay alive until the document is built (three per scalar), and the
    passes the allocations themselves trigger walked them again and again: a suite file
    of 20,000 inline cases parsed in 3.1 s, 1.45 s without them."""
    loader: Any = loader_class(text)  # (one of the two line loaders)
    loader.may_alias = "*" in text and "&" in text
    try:
        with collector_paused():
            return loader.get_single_data()
    finally:
        loader.dispose()


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document; malformed YAML raises :class:`SuiteError` at line:column.

    With libyaml, a document it refuses is read again by the pure-Python parser, whose
    errors (and the few documents it reads that libyaml does not: a lone surrogate's
    escape, which the suite's checks then name by case) are what a suite's author sees."""
    if _FastLineLoader is not None:
        try:
            return _load(text, _FastLineLoader)  # SafeLoader's: no code-running tags
        except (yaml.YAMLError, RecursionError):
            pass
    try:
        return _load(text, _LineLoader)  # a SafeLoader subclass: no code-running tags
    except yaml.MarkedYAMLError as exc:
        mark, start = exc.problem_mark or exc.context_mark, exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        context = exc.context
        if context and start is not None and mark is not None and start.line != mark.line:
            context += f" (started at line {start.line + 1}, column {start.column + 1})"
        problem = " ".join(p for p in (context, exc.problem) if p) or "invalid YAML"
        raise SuiteError(f"invalid YAML: {problem}", location=where) from exc
    except AliasBomb as exc:
        raise SuiteError(str(exc), location=f"{source}:{exc.line}") from None
    except yaml.YAMLError as exc:
        raise SuiteError(f"invalid YAML: {exc}", location=source) from exc
    except RecursionError:
        raise SuiteError("invalid YAML: nested too deeply", location=source) from None


def line_at(node: Any, path: Sequence[str | int]) -> int | None:
    """The line of the deepest item along ``path`` that carries one (``None`` if none).

    Steps that do not exist in the data (a missing field, a union branch name in a
    pydantic error location) stop the walk: the line of the nearest container wins.
    """
    line = getattr(node, "line", None)
    for step in path:
        if isinstance(node, LineDict) and step in node:
            line = node.key_lines.get(step, line)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            line = node.item_lines[step] if step < len(node.item_lines) else line
            node = node[step]
        else:  # a missing step, or plain data without lines
            break
        line = getattr(node, "line", None) if _is_container_start(node, line) else line
    return line


def _is_container_start(node: Any, line: int | None) -> bool:
    # A nested mapping's own line is its first key: deeper and more precise than the key
    # line of the field holding it only when the field's value starts on a later line.
    own = getattr(node, "line", None)
    return own is not None and (line is None or own > line)


def plain(value: Any) -> Any:
    """``value`` with every :class:`LineDict` / :class:`LineList` turned into dict / list."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
