"""The OpenAPI document is published, complete, and committed as ``docs/openapi.json``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from evalbook.server.openapi import document

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
REGENERATE = "python -m evalbook.server.openapi > docs/openapi.json"


def test_the_committed_document_is_current() -> None:
    current = json.loads(json.dumps(document()))
    committed = json.loads(COMMITTED.read_text())
    changed = sorted(
        set(current["paths"]) ^ set(committed["paths"])
        | {p for p in current["paths"] if current["paths"][p] != committed["paths"].get(p)}
    )
    assert committed == current, f"the API changed ({changed or 'schemas'}); run: {REGENERATE}"


def test_every_operation_declares_its_answers() -> None:
    for path, operations in document()["paths"].items():
        for method, op in operations.items():
            ok = [code for code in op["responses"] if code.startswith("2")]
            assert ok, f"{method.upper()} {path} declares no success answer"
            for code in ok:
                content = op["responses"][code].get("content", {})
                assert any(c.get("schema") for c in content.values()) or code == "204", (
                    f"{method.upper()} {path} {code} has no response schema"
                )


async def test_the_document_is_served(api: httpx.AsyncClient) -> None:
    served = await api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(document()))


def _words_shown(node: object, where: str = "") -> list[tuple[str, str]]:
    """Every text the API docs show (names, titles, summaries, descriptions, tags), with
    where it is; the sampling-seed property of a model config (a real setting) excepted."""
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "seed"}
            if key in ("title", "summary", "description") and isinstance(value, str):
                found.append((f"{where}/{key}", value))
            elif key == "tags" and isinstance(value, list):
                found.extend((f"{where}/tags", str(tag)) for tag in value)
            else:
                found.extend(_words_shown(value, f"{where}/{key}"))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_words_shown(value, f"{where}/{i}"))
    return found


def test_the_docs_speak_of_the_products_concepts() -> None:
    doc = document()
    shown = _words_shown(doc) + [("schema name", name) for name in doc["components"]["schemas"]]
    assert len(shown) > 500
    leaks = [f"{where}: {text[:80]}" for where, text in shown if "seed" in text.lower()]
    assert not leaks, "\n".join(leaks)
