"""promptfoo provider ids and option objects → evalbook model configs.

``openai:chat:NAME`` and ``openai:NAME`` are our ``openai`` provider (an ``apiBaseUrl``
makes it ``openai-compatible`` at that URL); ``anthropic:messages:NAME`` is
``anthropic``; ``ollama:chat:NAME`` is ``ollama``; ``echo`` is ``mock:echo``, which
answers with the prompt as promptfoo's echo does. promptfoo's providers for hosted
OpenAI-compatible APIs (``groq:NAME``, ``openrouter:NAME``, ``deepseek:NAME``, …; and
``google:NAME``, Gemini, through its OpenAI-compatible endpoint; ``huggingface:chat:NAME``,
the Hugging Face router) are
``openai-compatible`` at that API's URL, with its key read from the variable promptfoo
reads it from. ``config`` keys become model config
fields (``temperature``, ``max_tokens``, ``seed``, ``stop``) or provider ``params``
(``top_p``, ``response_format``, …: the API's request parameters only; see
``_provider_config.py``). Providers that run code or reach an arbitrary
HTTP API (``exec:``, ``python:``, ``file://``, ``http``) have no equivalent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evalbook.importers._model import ImportOptions
from evalbook.importers.promptfoo._huggingface import (
    huggingface_config_notes,
    huggingface_text_generation,
)
from evalbook.importers.promptfoo._provider_config import ConfigNote, apply_config
from evalbook.suites.yaml_lines import plain

__all__ = ["MappedProvider", "judge_spec", "map_provider"]

_OPENAI_STYLE = {"openai", "openai-compatible"}
#: promptfoo provider families that call an OpenAI-compatible API: its URL, its key's
#: environment variable (promptfoo's own defaults).
_HOSTED = {
    "groq": ("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "deepseek": ("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "togetherai": ("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "perplexity": ("https://api.perplexity.ai", "PERPLEXITY_API_KEY"),
    "fireworks": ("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "xai": ("https://api.x.ai/v1", "XAI_API_KEY"),
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    # Gemini's OpenAI-compatible endpoint; promptfoo's google: provider reads this key
    "google": ("https://generativelanguage.googleapis.com/v1beta/openai", "GOOGLE_API_KEY"),
}


@dataclass(frozen=True)
class MappedProvider:
    """A provider's model config (the suite-file mapping), or why there is none."""

    id: str
    label: str | None
    model: dict[str, Any] | None
    reason: str | None = None
    #: Config keys not sent as they are (mapped elsewhere, or dropped, and why).
    config_notes: tuple[ConfigNote, ...] = ()

    @property
    def spec(self) -> str:
        if self.model is None:
            return self.id
        return f"{self.model['provider']}:{self.model['name']}"


def map_provider(raw: Any, options: ImportOptions) -> MappedProvider:
    """One entry of ``providers`` (a string, ``{id, label, config}``, or ``{ID: {…}}``)."""
    data = plain(raw)
    label: str | None = None
    config: dict[str, Any] = {}
    if isinstance(data, dict) and "id" not in data and len(data) == 1:
        ((pid, body),) = data.items()
        data = {"id": pid, **(body if isinstance(body, dict) else {})}
    if isinstance(data, dict):
        pid = data.get("id")
        label = data.get("label")
        config = data.get("config") or {}
    else:
        pid = data
    if not isinstance(pid, str) or not pid:
        return MappedProvider(str(pid), label, None, "a provider needs an id (a string)")
    model = _model_of(pid, config)
    if isinstance(model, str):
        return MappedProvider(pid, label, None, model)
    if pid.startswith("huggingface:text-generation:"):
        notes = huggingface_config_notes(config)  # its config is applied already
    else:
        notes = apply_config(model, config if isinstance(config, dict) else {})
    return MappedProvider(pid, label, override(model, options), None, tuple(notes))


def override(model: dict[str, Any], options: ImportOptions) -> dict[str, Any]:
    """``--base-url`` points OpenAI-style models at that endpoint (no key needed)."""
    if options.base_url and model["provider"] in _OPENAI_STYLE:
        model = {**model, "provider": "openai-compatible", "base_url": options.base_url}
        model.pop("api_key_env", None)
    elif options.base_url and model["provider"] == "huggingface":
        model = {**model, "base_url": options.base_url}  # its /models/NAME there
    return model


def judge_spec(provider: Any, fallback: Any) -> Any:
    """A grader (``options.provider`` of a test or an assertion) as a judge model."""
    if isinstance(provider, dict) and isinstance(provider.get("text"), (str, dict)):
        provider = provider["text"]  # {text: ..., embedding: ...}
    mapped = map_provider(provider, ImportOptions())
    return mapped.model if mapped.model is not None else fallback


#: promptfoo ids under a family evalbook imports that are not a chat model: an agent that
#: runs tools, an assistant thread, another endpoint (id prefix → why).
_NOT_CHAT = {
    "anthropic:claude-agent-sdk": "it runs the Claude Agent SDK (an agent with tools and a"
    " working directory), not one Messages API call",
    "anthropic:claude-code": "it runs the Claude Agent SDK (an agent with tools and a"
    " working directory), not one Messages API call",
    "openai:assistant": "it runs an OpenAI Assistants thread, not one chat call",
    "openai:agents": "it runs an OpenAI Agents SDK agent, not one chat call",
    "openai:codex-sdk": "it runs the Codex SDK agent, not one chat call",
    "openai:realtime": "it uses the Realtime API, not chat completions",
    "openai:embedding": "it is an embedding model; as a provider it answers no text",
    "openai:embeddings": "it is an embedding model; as a provider it answers no text",
    "openai:image": "it generates images, which evalbook does not score",
    "openai:transcription": "it transcribes audio, which evalbook does not send",
}


def _model_of(pid: str, config: dict[str, Any]) -> dict[str, Any] | str:
    if pid == "echo":
        return {"provider": "mock", "name": "echo"}
    parts = pid.split(":")
    family = parts[0]
    for prefix, why in _NOT_CHAT.items():
        if pid == prefix or pid.startswith(prefix + ":"):
            return f"provider {pid!r} is not imported: {why}"
    if family == "openai":
        kind_and_name = parts[1:]
        if kind_and_name and kind_and_name[0] in ("chat", "responses", "completion"):
            if kind_and_name[0] == "completion":
                return "the legacy completions endpoint is not supported (chat only)"
            kind_and_name = kind_and_name[1:]
        name = ":".join(kind_and_name)
        if not name:
            return f"{pid!r} names no model"
        model: dict[str, Any] = {"provider": "openai", "name": name}
    elif family == "anthropic":
        rest = parts[1:]
        if rest and rest[0] in ("messages", "completion"):
            rest = rest[1:]
        if not rest:
            return f"{pid!r} names no model"
        model = {"provider": "anthropic", "name": ":".join(rest)}
    elif family == "ollama":
        rest = parts[1:]
        if rest and rest[0] in ("chat", "completion"):
            rest = rest[1:]
        if not rest:
            return f"{pid!r} names no model"
        model = {"provider": "ollama", "name": ":".join(rest)}
    elif family == "huggingface" and parts[1:2] == ["chat"] and len(parts) > 2:
        # the Hugging Face router's OpenAI-compatible chat (text-generation is not)
        model = {
            "provider": "openai-compatible",
            "name": ":".join(parts[2:]),
            "base_url": "https://router.huggingface.co/v1",
            "api_key_env": "HF_API_TOKEN",
        }
    elif family == "huggingface" and parts[1:2] == ["text-generation"] and len(parts) > 2:
        return huggingface_text_generation(":".join(parts[2:]), config)
    elif family in _HOSTED:
        rest = parts[1:]
        if rest and rest[0] == "chat":
            rest = rest[1:]
        if not rest:
            return f"{pid!r} names no model"
        url, key_env = _HOSTED[family]
        model = {
            "provider": "openai-compatible",
            "name": ":".join(rest),
            "base_url": url,
            "api_key_env": key_env,
        }
    else:
        return (
            f"provider {pid!r} has no evalbook equivalent (openai, anthropic, ollama, echo,"
            f" {', '.join(sorted(_HOSTED))} and OpenAI-compatible endpoints are imported)"
        )
    return model
