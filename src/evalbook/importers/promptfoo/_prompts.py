"""promptfoo ``prompts`` → evalbook prompt versions (one version per prompt, in order).

A prompt is an inline string, a ``file://`` text file (``---`` lines separate several
prompts), a chat (a JSON list of ``{role, content}`` inline or in a ``.json``/``.yaml``
file), a glob of those, or an object with ``raw`` or ``id`` and a ``label``. Nunjucks
and Jinja share the syntax prompts use (evalbook's sandbox has nunjucks' ``dump``). Prompt
functions (``.py``/``.js`` files) run code and are not imported.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from evalbook.errors import SuiteError
from evalbook.importers._files import (
    FILE_PREFIX,
    is_file_ref,
    names_file,
    read_structured,
    read_text,
    resolve_refs,
)
from evalbook.importers._model import ImportReport
from evalbook.suites.yaml_lines import plain

__all__ = ["PromptVersionOut", "map_prompts"]

_SEPARATOR = re.compile(r"^---[ \t]*$", re.M)
_CODE = {".py", ".js", ".mjs", ".cjs", ".ts"}
_ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class PromptVersionOut:
    """One prompt version (the suite-file form) and the label promptfoo showed."""

    body: str | dict[str, Any]
    label: str
    #: promptfoo's id of the prompt (its raw text or its file:// path), for filters.
    id: str = ""
    #: The line of the config's prompts entry it comes from.
    line: int | None = None


def map_prompts(
    raw: Any, base_dir: Path, file: str, lines: list[int], report: ImportReport
) -> list[PromptVersionOut]:
    items = raw if isinstance(raw, list) else [raw]
    if isinstance(raw, dict) and not _is_prompt_object(raw):
        # {"file://a.txt": "label a", ...}: the legacy map form
        items = [{"id": k, "label": v} for k, v in raw.items()]
    out: list[PromptVersionOut] = []
    for i, item in enumerate(items):
        line = lines[i] if i < len(lines) else None
        where = f"{file}:{line}" if line else file
        data = plain(item)
        source = data.get("raw") or data.get("id") if isinstance(data, dict) else data
        found = _one(item, base_dir, file, line, where, report)
        out.extend(replace(v, id=str(source or v.label), line=line) for v in found)
    return out


def _is_prompt_object(raw: dict[str, Any]) -> bool:
    return "raw" in raw or "id" in raw


def _one(
    item: Any, base_dir: Path, file: str, line: int | None, where: str, report: ImportReport
) -> list[PromptVersionOut]:
    data = plain(item)
    label: str | None = None
    if isinstance(data, dict):
        label = data.get("label")
        for key in data:
            if key not in ("raw", "id", "label"):
                report.note(
                    file, line, f"prompt {label or ''}: {key}".replace(" :", ":"),
                    "a prompt's own config is not imported (put model settings on the models)"
                    if key == "config" else "unknown prompt field, not imported",
                )  # fmt: skip
        if "raw" in data:
            return [_from_text(str(data["raw"]), label or _short(str(data["raw"])), where)]
        data = data.get("id")
    if not isinstance(data, str):
        raise SuiteError(
            f"a prompt must be text, a file:// path or {{raw|id, label}}, not {data!r}",
            location=where,
        )
    if not is_file_ref(data) and names_file(data, base_dir):
        data = FILE_PREFIX + data  # a bare path: promptfoo reads the file it names
    if not is_file_ref(data):
        return [_from_text(data, label or _short(data), where)]
    out: list[PromptVersionOut] = []
    for path in resolve_refs(data, base_dir, where):
        if path.suffix.lower() in _CODE:
            report.note(
                file,
                line,
                "prompt function",
                f"{path.name} builds the prompt in code; evalbook does not run it (write"
                " its template as a prompt version)",
            )
            continue
        out.extend(_from_file(path, label, where))
    return out


def _from_file(path: Path, label: str | None, where: str) -> list[PromptVersionOut]:
    name = label or path.name
    if path.suffix.lower() in (".json", ".yaml", ".yml"):
        value = plain(read_structured(path, where))
        if isinstance(value, list):
            return [PromptVersionOut(_chat(value, str(path)), name)]
        if isinstance(value, str):
            return [_from_text(value, name, str(path))]
        raise SuiteError(
            "a prompt file must hold a chat (a list of messages) or text", location=str(path)
        )
    text = read_text(path, where)
    parts = [p.strip("\n") for p in _SEPARATOR.split(text)] if _SEPARATOR.search(text) else [text]
    parts = [p for p in parts if p.strip()]
    if len(parts) == 1:
        return [_from_text(parts[0], name, str(path))]
    return [_from_text(p, f"{name} #{i}", str(path)) for i, p in enumerate(parts, start=1)]


def _from_text(text: str, label: str, where: str) -> PromptVersionOut:
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError:
            value = None
        if (
            isinstance(value, list)
            and value
            and all(isinstance(m, dict) and "role" in m for m in value)
        ):
            return PromptVersionOut(_chat(value, where), label)
    return PromptVersionOut(text, label)


def _chat(messages: list[Any], where: str) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    system: str | None = None
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise SuiteError(
                f"message {i}: a chat message needs a role (system, user, assistant) and content",
                location=where,
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise SuiteError(f"message {i}: only text content is imported", location=where)
        if message["role"] == "system" and i == 0:
            system = content
            continue
        out.append({"role": message["role"], "content": content})
    body: dict[str, Any] = {"messages": out}
    if system is not None:
        body = {"system": system, **body}
    return body


def _short(text: str) -> str:
    one = " ".join(text.split())
    return one if len(one) <= 40 else one[:37] + "..."


def without_broken_templates(
    versions: list[PromptVersionOut], file: str, report: ImportReport
) -> list[PromptVersionOut]:
    """The prompt versions whose templates parse; each other one is reported at its line
    and left out (nunjucks cannot parse it either: promptfoo errors every test with it),
    so the config's other prompts still import and run."""
    from evalbook.core.templating import compile_template
    from evalbook.errors import TemplateError

    kept = []
    for version in versions:
        body = version.body
        texts = [body] if isinstance(body, str) else [
            body.get("system") or "", *(m["content"] for m in body.get("messages", []))
        ]  # fmt: skip
        try:
            for text in texts:
                compile_template(text)
        except TemplateError as exc:
            report.note(
                file, version.line, f"prompt {version.label[:60]}",
                f"{exc}; nunjucks cannot parse it either (promptfoo errors every test with"
                " it): left out, the other prompts are imported",
            )  # fmt: skip
            continue
        kept.append(version)
    return kept
