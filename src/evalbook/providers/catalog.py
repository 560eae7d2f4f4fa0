"""What the provider registry holds, described for people: ``evalbook providers list``.

A provider is named in a model spec ``provider:model[@base_url]``; the built-ins have
their usual forms here, a plugin gets the generic form and where it comes from.
Describing a provider imports nothing: the registry's entries stay lazy, so listing does
not load an SDK.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalbook.providers.registry import PROVIDERS

__all__ = ["BUILTIN_FORMS", "ProviderInfo", "describe_providers"]

#: Built-in provider → (spec forms, what it is).
BUILTIN_FORMS: dict[str, tuple[tuple[str, ...], str]] = {
    "local": (
        ("local:smollm2-135m", "local:/path/model.gguf"),
        "the embedded llama.cpp model, in-process; no key, no server",
    ),
    "openai": (("openai:gpt-4o-mini",), "official SDK; key from OPENAI_API_KEY (or api_key_env)"),
    "anthropic": (
        ("anthropic:claude-3-5-haiku-latest",),
        "official SDK; key from ANTHROPIC_API_KEY (or api_key_env)",
    ),
    "openai-compatible": (
        ("openai-compatible:my-model@http://127.0.0.1:8000/v1",),
        "any chat-completions server, through a pooled client",
    ),
    "vllm": (
        ("vllm:meta-llama/Llama-3.1-8B-Instruct",),
        "a vLLM server; default base URL http://127.0.0.1:8000/v1",
    ),
    "ollama": (
        ("ollama:llama3.2",),
        "an Ollama server; default base URL http://127.0.0.1:11434/v1",
    ),
    "huggingface": (
        ("huggingface:gpt2", "huggingface:org/model@http://127.0.0.1:8000"),
        "Hugging Face Inference API text generation (raw prompt, no chat template);"
        " key from HF_TOKEN, optional",
    ),
    "mock": (
        ("mock:echo", "mock:constant", "mock:scripted", "mock:fail"),
        "for tests and dry runs, through the normal path",
    ),
    "python": (("python:mypkg.app:answer",), "your own function is the system under test"),
    "browser": (
        ("browser:sites/chat.yaml",),
        "a model behind a website's chat page (pip install 'evalbook[browser]')",
    ),
}


@dataclass(frozen=True)
class ProviderInfo:
    name: str
    forms: tuple[str, ...]
    summary: str
    #: ``module:attr`` of the class.
    target: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "forms": list(self.forms),
            "summary": self.summary,
            "target": self.target,
        }


def describe_providers() -> list[ProviderInfo]:
    """Every registered provider, sorted by name, with the spec forms that name it."""
    described = []
    for name in PROVIDERS.names():
        target = PROVIDERS.target(name)
        generic = ((f"{name}:MODEL[@BASE_URL]",), f"a plugin ({target})")
        forms, summary = BUILTIN_FORMS.get(name, generic)
        described.append(ProviderInfo(name, forms, summary, target))
    return described
