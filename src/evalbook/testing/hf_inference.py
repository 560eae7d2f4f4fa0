"""The Hugging Face Inference API's text-generation shape, for the local test server.

``POST /models/MODEL`` with ``{"inputs": TEXT, "parameters": {...}}`` answers
``[{"generated_text": TEXT}]`` (the prompt first unless ``return_full_text`` is false, as
the API does); an error is ``{"error": MESSAGE}``. The test server answers it from the
same directives and faults as a chat completion whose one user message is ``inputs``
(``[[answer=…]]``, ``[[fail=503:1]]`` …), so provider tests exercise the same retries.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["HF_MODELS", "hf_error", "hf_reply", "hf_request"]

#: The path prefix of the text-generation route: ``/models/MODEL`` (MODEL may hold ``/``).
HF_MODELS = "/models/"


def hf_request(body: bytes) -> tuple[str, dict[str, Any]]:
    """``(inputs, parameters)`` of a request body; ``ValueError`` when it is not one."""
    req = json.loads(body)
    if not isinstance(req, dict) or not isinstance(req.get("inputs"), str):
        raise ValueError("'inputs' (a string) is required")
    params = req.get("parameters") or {}
    if not isinstance(params, dict):
        raise ValueError("'parameters' must be an object")
    return req["inputs"], params


def hf_reply(chat_reply: bytes, inputs: str, params: dict[str, Any]) -> bytes:
    """The text-generation answer for the chat completion the server made of the request
    (a malformed one is passed on as it is)."""
    try:
        answer = json.loads(chat_reply)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        return chat_reply
    full = params.get("return_full_text", True) is not False
    return json.dumps([{"generated_text": inputs + answer if full else answer}]).encode()


def hf_error(status: int, chat_error: bytes) -> bytes:
    """``{"error": MESSAGE}``, the API's error shape, from the server's OpenAI-shaped one."""
    try:
        message = json.loads(chat_error)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = f"error {status}"
    return json.dumps({"error": message}).encode()
