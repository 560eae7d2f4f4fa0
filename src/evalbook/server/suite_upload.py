"""A suite file sent by a client (the API's body, the launch sheet's upload) as a suite:
parsed with the policy that keeps files, code and server paths out, every problem a
``SuiteError`` naming where."""

from __future__ import annotations

import json
from typing import Any

import yaml

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


def parse_suite(body: bytes, content_type: str, source_name: str = "<request body>") -> Suite:
    """The suite of a request body; every problem a 422 naming where."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SuiteError("the body is not UTF-8 text") from None
    source = source_name

    def inspect(data: Any) -> None:
        _refuse_nul(data)
        if isinstance(data, dict):
            check_suite_data(data)

    try:
        if content_type in JSON_TYPES:
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
        try:  # YAML aliases can expand a small body into an enormous structure
            if any(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, yaml.SafeLoader)):
                raise SuiteError("YAML anchors and aliases are not accepted here", location=source)
        except yaml.YAMLError:
            pass  # the loader reports it with its line
        return load_suite_from_text(text, source=source, inspect=inspect)
    except RecursionError:
        raise SuiteError("the suite is nested too deeply", location=source) from None
