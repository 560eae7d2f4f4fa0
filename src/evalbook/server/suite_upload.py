"""A suite file sent by a client (the API's body, the launch sheet's upload) as a suite:
parsed with the policy that keeps files, code and server paths out, every problem a
``SuiteError`` naming where."""

from __future__ import annotations

import json
from typing import Any

import yaml

from evalbook.core.heap import collector_paused
from evalbook.core.suite import Suite
from evalbook.errors import SuiteError
from evalbook.server.schemas.common import check_no_nul
from evalbook.server.schemas.policy import check_suite_data
from evalbook.suites import load_suite_from_dict
from evalbook.suites.loader import load_suite_from_text

__all__ = ["JSON_TYPES", "YAML_TYPES", "parse_suite"]

JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")


def _refuse_nul(data: Any) -> None:
    try:
        check_no_nul(data, "suite")
    except ValueError as exc:
        raise SuiteError(str(exc)) from None


#: How a parsed body's text can come to hold a NUL: JSON writes one only as the escape
#: ``\u0000`` (``json.loads`` refuses a raw control character in a string), YAML as one
#: of its double-quoted escapes (its readers refuse a raw one); a raw one is listed too.
_NUL_WRITTEN = {
    "json": ("\\u0000", "\x00"),
    "yaml": ("\\0", "\\x00", "\\u0000", "\\U00000000", "\x00"),
}


def _may_hold_nul(text: str, syntax: str) -> bool:
    """Whether the body's values can hold a NUL; when they cannot, they are not walked
    for one (a third of the time parsing a 100,000-case suite took)."""
    return any(written in text for written in _NUL_WRITTEN[syntax])


def _has_alias(text: str) -> bool:
    """Whether a YAML text holds an alias (an alias is written ``*name``: a text without
    a ``*`` holds none). Read by libyaml's parser when PyYAML has it, else (or when it
    refuses the text) by the Python one; a text neither reads is left to the loader,
    which reports it with its line."""
    if "*" not in text:
        return False
    for loader in _EVENT_LOADERS:
        try:
            return any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, loader))
        except yaml.YAMLError:
            continue
    return False


_EVENT_LOADERS: tuple[type[Any], ...] = (
    *((yaml.CSafeLoader,) if hasattr(yaml, "CSafeLoader") else ()),
    yaml.SafeLoader,
)


def parse_suite(body: bytes, content_type: str, source_name: str = "<request body>") -> Suite:
    """The suite of a request body; every problem a 422 naming where.

    Without the cyclic collector meanwhile: a big suite is millions of objects that all
    stay alive (the parsed body, then the suite), and the passes their allocations
    triggered walked them again and again (a sixth of parsing a 100,000-case suite)."""
    with collector_paused():
        return _parse_suite(body, content_type, source_name)


def _parse_suite(body: bytes, content_type: str, source_name: str) -> Suite:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SuiteError("the body is not UTF-8 text") from None
    source = source_name

    syntax = "json" if content_type in JSON_TYPES else "yaml"
    nul = _may_hold_nul(text, syntax)

    def inspect(data: Any) -> None:
        if nul:
            _refuse_nul(data)
        if isinstance(data, dict):
            check_suite_data(data)

    try:
        if syntax == "json":
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise SuiteError(f"invalid JSON: {exc}", location=source) from None
            if not isinstance(data, dict):
                raise SuiteError(
                    "a suite must be a mapping of fields (id, prompt, cases, ...)",
                    location=source,
                )
            inspect(data)
            return load_suite_from_dict(data, source=source)
        # YAML aliases can expand a small body into an enormous structure.
        if _has_alias(text):
            raise SuiteError("YAML anchors and aliases are not accepted here", location=source)
        return load_suite_from_text(text, source=source, inspect=inspect)
    except RecursionError:
        raise SuiteError("the suite is nested too deeply", location=source) from None
