"""promptfoo's ``huggingface:text-generation:MODEL`` → evalbook's ``huggingface`` provider.

promptfoo posts the rendered prompt as ``inputs`` to the Inference API
(``…/hf-inference/models/MODEL``) with its text-generation options as ``parameters``
(``return_full_text`` false unless set), or, when ``chatCompletion`` is true or the
``apiEndpoint`` is a ``/v1/chat`` URL, calls the router's OpenAI-compatible chat. Both map:
the first to ``huggingface:MODEL``, the second to ``openai-compatible`` at that URL.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["huggingface_config_notes", "huggingface_text_generation"]

#: promptfoo's text-generation options, sent as the request's ``parameters``.
_PARAMETERS = {
    "top_k", "top_p", "repetition_penalty", "max_time", "return_full_text",
    "num_return_sequences", "do_sample", "use_cache", "wait_for_model",
}  # fmt: skip
_CHAT_URL = "https://router.huggingface.co/v1"


def huggingface_text_generation(name: str, config: dict[str, Any]) -> dict[str, Any] | str:
    """The model config for ``huggingface:text-generation:NAME``, or why there is none."""
    endpoint = config.get("apiEndpoint")
    chat = config.get("chatCompletion")
    if chat is None:
        chat = isinstance(endpoint, str) and "/v1/chat" in endpoint
    if chat:
        base = re.sub(r"/chat/completions/?$", "", str(endpoint or _CHAT_URL))
        model: dict[str, Any] = {
            "provider": "openai-compatible",
            "name": name,
            "base_url": base,
            "api_key_env": "HF_TOKEN",
        }
        if config.get("max_new_tokens") is not None:
            model["max_tokens"] = config["max_new_tokens"]
        if config.get("temperature") is not None:
            model["temperature"] = config["temperature"]
        params = {k: config[k] for k in ("top_p",) if k in config}
        if params:
            model["params"] = params
        return model
    model = {"provider": "huggingface", "name": name}
    if isinstance(endpoint, str):
        suffix = f"/models/{name}"
        if not endpoint.rstrip("/").endswith(suffix):
            return (
                f"apiEndpoint {endpoint!r} is not an Inference API URL ending in {suffix};"
                " evalbook's huggingface provider posts to BASE_URL/models/MODEL"
            )
        model["base_url"] = endpoint.rstrip("/")[: -len(suffix)]
    if config.get("temperature") is not None:
        model["temperature"] = config["temperature"]
    if config.get("max_new_tokens") is not None:
        model["max_tokens"] = config["max_new_tokens"]
    params = {k: v for k, v in config.items() if k in _PARAMETERS}
    if params:
        model["params"] = params
    return model


_MAPPED = _PARAMETERS | {"temperature", "max_new_tokens", "apiEndpoint", "chatCompletion"}


def huggingface_config_notes(config: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The config keys of a text-generation provider that are not sent, and why."""
    notes: list[tuple[str, str, bool]] = []
    for key in config:
        if key == "apiKey":
            notes.append((key, "a key written in the config is not imported: set HF_TOKEN", False))
        elif key not in _MAPPED:
            notes.append((key, "not sent: not a text-generation parameter", False))
    return notes
