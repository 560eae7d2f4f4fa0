"""Turn a prompt version and a case into the messages a provider receives.

Rendering is pure and cheap (templates are compiled once and cached), so the executor
renders every item just before its call and stores the result with it. Variables are the
case's ``vars`` plus, when ``vars`` does not already name them, ``expected``, ``choices``,
``case_id`` and ``section``. A missing variable is a :class:`~evalbook.errors.TemplateError`
naming the case and the variable; sandbox violations are TemplateErrors too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from evalbook.core.case_context import RESERVED_VARIABLES, template_context
from evalbook.core.messages import ContentPart, ImagePart, Message, TextPart
from evalbook.core.suite import Case, CaseList, PromptVersion, Suite
from evalbook.core.template_limits import RenderLimitError
from evalbook.core.templating import (
    DEFAULT_LIMITS,
    RenderLimits,
    compile_template,
    render_string,
    template_variables,
)
from evalbook.errors import TemplateError

__all__ = [
    "RESERVED_VARIABLES",
    "check_render_limits",
    "missing_variables_everywhere",
    "render_messages",
    "template_context",
]

# Names the sandboxed environment defines itself (range, len, ...): never "missing".
_GLOBALS = frozenset(compile_template("").environment.globals)


def render_messages(
    prompt_version: PromptVersion,
    case: Case,
    *,
    system_prompt: str | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
) -> list[Message]:
    """The rendered conversation for ``case``.

    The case's own ``messages`` replace the prompt version's. A system message comes
    first: the prompt version's ``system``, else ``system_prompt`` (the model config's),
    unless the messages already open with one. The case's images are appended to the last
    user message (a new user message when there is none). The text of all messages
    together is bounded by ``limits.max_chars``.
    """
    variables = template_context(case)
    source = case.messages if case.messages is not None else prompt_version.messages
    rendered = [_render(m, variables, case.id, limits) for m in source]
    system = prompt_version.system if prompt_version.system is not None else system_prompt
    if system is not None and not (rendered and rendered[0].role == "system"):
        text = render_string(system, variables, case_id=case.id, limits=limits)
        rendered.insert(0, Message(role="system", content=text))
    total = sum(len(m.text) for m in rendered)
    if total > limits.max_chars:
        why = (
            f"the rendered prompt is {total:,} characters, over the limit of"
            f" {limits.max_chars:,} (EVALBOOK_MAX_PROMPT_CHARS)"
        )
        raise TemplateError(f"case {case.id!r}: {why}", case_id=case.id) from RenderLimitError(why)
    if case.assets:
        _attach_images(rendered, case.assets)
    return rendered


def check_render_limits(suite: Suite, limits: RenderLimits = DEFAULT_LIMITS) -> None:
    """Render every prompt version for the suite's first case and raise the
    :class:`TemplateError` of one that goes past ``limits`` (a template that would take
    the server's memory or time is refused when it is submitted, not when it runs).
    Other render errors (a variable the first case lacks) are left to the run, which
    reports them per case."""
    if not suite.cases:
        return
    case = suite.cases[0]
    for version in suite.prompt.versions:
        try:
            render_messages(version, case, limits=limits)
        except TemplateError as exc:
            if isinstance(exc.__cause__, RenderLimitError):
                raise


def _render(
    message: Message, variables: dict[str, Any], case_id: str, limits: RenderLimits
) -> Message:
    if isinstance(message.content, str):
        text = render_string(message.content, variables, case_id=case_id, limits=limits)
        return Message(role=message.role, content=text)
    parts: list[ContentPart] = [
        TextPart(text=render_string(p.text, variables, case_id=case_id, limits=limits))
        if isinstance(p, TextPart)
        else p
        for p in message.content
    ]
    return Message(role=message.role, content=parts)


def _attach_images(messages: list[Message], images: list[ImagePart]) -> None:
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if message.role != "user":
            continue
        parts: list[ContentPart] = (
            [TextPart(text=message.content)] if isinstance(message.content, str) else []
        )
        if not isinstance(message.content, str):
            parts.extend(message.content)
        messages[i] = Message(role="user", content=[*parts, *images])
        return
    messages.append(Message(role="user", content=list(images)))


def missing_variables_everywhere(
    prompt_version: PromptVersion, cases: Iterable[Case], *, system_prompt: str | None = None
) -> set[str]:
    """Variables the templates read that no case provides (fail the run up front).

    The prompt's messages count only when some case uses them (has no messages of its
    own); each case's own messages must be covered by that case alone.
    """
    provided: set[str] = set()
    own_missing: set[str] = set()
    uses_prompt = False
    if isinstance(cases, CaseList):  # its notes: only cases with own messages are decoded
        provided, uses_prompt = set(cases.variable_names), not cases.all_own_messages
        cases = cases.with_own_messages()
    for case in cases:
        provided.update(case.vars)
        if case.messages is None:
            uses_prompt = True
        else:
            own_missing |= _read_by(case.messages) - set(case.vars)
    system = prompt_version.system if prompt_version.system is not None else system_prompt
    needed = _texts_variables([system] if system is not None else [])
    if uses_prompt:
        needed |= _read_by(prompt_version.messages)
    return (needed - provided | own_missing) - RESERVED_VARIABLES - _GLOBALS


def _read_by(messages: list[Message]) -> set[str]:
    texts: list[str] = []
    for message in messages:
        if isinstance(message.content, str):
            texts.append(message.content)
        else:
            texts.extend(p.text for p in message.content if isinstance(p, TextPart))
    return _texts_variables(texts)


def _texts_variables(texts: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for text in texts:
        if "{{" in text or "{%" in text:
            names |= template_variables(text)
    return names
