"""The ``prompt:`` of a suite file, in its three forms, as a :class:`Prompt`.

* a string: one user message; the prompt is named after the suite, version 1;
* a mapping with ``system`` / ``messages`` / ``template``: a single version 1;
* a mapping with ``versions: {1: {...}, 2: {...}}``: numbered versions, each with
  ``system`` and ``messages`` (or ``template``, or just a template string).

No prompt at all is allowed when every case brings its own ``messages``. Every template
is compiled here, so a syntax error names its line in the suite file.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from evalbook.core.messages import Message, TextPart
from evalbook.core.suite import Prompt, PromptVersion
from evalbook.core.templating import compile_template
from evalbook.errors import TemplateError
from evalbook.suites.problems import Problems, Where
from evalbook.suites.yaml_lines import plain

__all__ = ["build_prompt", "check_message_templates"]

VERSION_KEYS = frozenset({"system", "messages", "template"})
PROMPT_KEYS = VERSION_KEYS | {"name", "versions"}


def build_prompt(raw: Any, where: Where, default_name: str, problems: Problems) -> Prompt | None:
    """The suite's prompt, or ``None`` after recording what is wrong with it."""
    if raw is None:
        return Prompt(name=default_name, versions=[PromptVersion(version=1, messages=[])])
    if isinstance(raw, str):
        version = _version(1, {"template": raw}, where, problems, shorthand=True)
        return Prompt(name=default_name, versions=[version]) if version else None
    if not isinstance(raw, dict):
        problems.add(where, f"must be a template string or a mapping, not {_kind(raw)}")
        return None
    problems.check_keys(where, raw, PROMPT_KEYS)
    name = raw.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        problems.add(where, "must be a non-empty string", ("name",))
        return None
    if "versions" not in raw:
        body = {k: v for k, v in raw.items() if k in VERSION_KEYS}
        version = _version(1, body, where, problems)
        return Prompt(name=name, versions=[version]) if version else None
    if VERSION_KEYS & raw.keys():
        problems.add(where, "give either 'versions' or system/messages/template, not both")
        return None
    versions = _versions(raw["versions"], where.child("versions"), problems)
    if versions is None:
        return None
    try:
        return Prompt(name=name, versions=versions)
    except ValidationError as exc:
        problems.add_validation(where.child("versions"), exc)
        return None


def _versions(raw: Any, where: Where, problems: Problems) -> list[PromptVersion] | None:
    if not isinstance(raw, dict) or not raw:
        problems.add(where, "must be a non-empty mapping of version number → version")
        return None
    out: list[PromptVersion] = []
    failed = False
    for key, body in raw.items():
        number = _version_number(key)
        if number is None:
            problems.add(where, f"version {key!r} is not a positive whole number", (key,))
            failed = True
            continue
        shorthand = isinstance(body, str)
        version = _version(
            number,
            {"template": body} if shorthand else body,
            where.child(key),
            problems,
            shorthand=shorthand,
        )
        failed = failed or version is None
        if version is not None:
            out.append(version)
    return None if failed else out


def _version_number(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key if key >= 1 else None
    if isinstance(key, str) and key.strip().isdigit() and int(key) >= 1:
        return int(key)
    return None


def _version(
    number: int, body: Any, where: Where, problems: Problems, *, shorthand: bool = False
) -> PromptVersion | None:
    if not isinstance(body, dict):
        problems.add(where, f"a prompt version must be a mapping, not {_kind(body)}")
        return None
    if not problems.check_keys(where, body, VERSION_KEYS):
        return None
    data = plain(body)
    if "template" in data:
        if "messages" in data:
            problems.add(where, "give either 'template' or 'messages', not both")
            return None
        template = data.pop("template")
        if not isinstance(template, str):
            problems.add(where, "must be a string", () if shorthand else ("template",))
            return None
        data["messages"] = [{"role": "user", "content": template}]
    data.setdefault("messages", [])
    try:
        version = PromptVersion.model_validate({"version": number, **data})
    except ValidationError as exc:
        problems.add_validation(where, exc)
        return None
    steps: tuple[str, ...] = () if shorthand else ("template",) if "template" in body else ()
    ok = check_message_templates(version.messages, where, problems, steps=steps)
    ok = _check_template(version.system, where, ("system",), problems) and ok
    return version if ok else None


def check_message_templates(
    messages: list[Message], where: Where, problems: Problems, *, steps: tuple[str, ...] = ()
) -> bool:
    """Compile every template in ``messages``; syntax errors are recorded. ``steps`` points
    at the text when the messages came from a shorthand (``template:``)."""
    ok = True
    for i, message in enumerate(messages):
        at = steps or ("messages", i, "content")
        if isinstance(message.content, str):
            ok = _check_template(message.content, where, at, problems) and ok
            continue
        for part in message.content:
            if isinstance(part, TextPart):
                ok = _check_template(part.text, where, at, problems) and ok
    return ok


#: What starts Jinja syntax (an expression, a statement, a comment). A text without one is
#: data to Jinja and compiles: not compiled to check it (each case of an imported eval has
#: its own messages, and compiling them took nine tenths of loading the suite).
_JINJA_OPENERS = ("{{", "{%", "{#")


def _check_template(
    text: str | None, where: Where, steps: tuple[str | int, ...], problems: Problems
) -> bool:
    if text is None or not any(opener in text for opener in _JINJA_OPENERS):
        return True  # text alone: Jinja reads it as data, nothing to get wrong
    try:
        compile_template(text)
    except TemplateError as exc:
        problems.add(where, str(exc), steps)
        return False
    return True


def _kind(value: Any) -> str:
    return "a list" if isinstance(value, list) else f"{type(value).__name__} {value!r}"
