"""promptfoo provider ``config`` keys: which are sent, which are mapped, which are not.

promptfoo mixes the API's request parameters (``top_p``, ``response_format``) with its
own options (``apiKeyEnvar``, ``headers``, ``cost``) in one ``config``. evalbook sends a
key as a model ``param`` only when it is a request parameter of the API the model calls
(OpenAI's chat completions; Anthropic's Messages; OpenAI-compatible servers also take
``top_k``, ``min_p``, ``repetition_penalty``); promptfoo's own options are mapped where
evalbook has the setting and reported (with their line) where it has not; anything else
is reported as unknown and never sent, since an endpoint refuses (or, worse, silently
ignores) a parameter it does not know.
"""

from __future__ import annotations

import re
from typing import Any

from evalbook.importers._files import line_of
from evalbook.importers._model import ImportReport

__all__ = ["PROVIDER_FIELDS", "ConfigNote", "apply_config", "note_provider_fields"]

#: Model config fields (promptfoo name → evalbook field).
_FIELDS = {
    "temperature": "temperature", "max_tokens": "max_tokens", "seed": "seed", "stop": "stop",
    "max_completion_tokens": "max_tokens", "stop_sequences": "stop",
}  # fmt: skip
#: OpenAI chat-completions request parameters (besides the fields above).
_OPENAI = {
    "top_p", "frequency_penalty", "presence_penalty", "logit_bias", "logprobs",
    "top_logprobs", "n", "response_format", "tools", "tool_choice", "parallel_tool_calls",
    "user", "reasoning_effort", "service_tier", "store", "metadata", "modalities", "audio",
    "prediction", "verbosity", "web_search_options",
}  # fmt: skip
#: Sampling parameters OpenAI-compatible servers (vLLM, Ollama, OpenRouter, …) take too.
_COMPATIBLE = _OPENAI | {"top_k", "min_p", "repetition_penalty"}
#: Anthropic Messages request parameters (besides the fields above).
_ANTHROPIC = {"top_p", "top_k", "metadata", "thinking", "tools", "tool_choice"}
_SENT = {"openai": _OPENAI, "anthropic": _ANTHROPIC}
#: promptfoo's own options evalbook has no setting for, and why (reported, never sent).
_NOT_IMPORTED = {
    "apiKey": "a key written in the config is not imported: set it in the environment"
    " (apiKeyEnvar names the variable)",
    "headers": "custom request headers are not imported: evalbook sends its own",
    "organization": "no organization header is sent; the openai provider's SDK reads"
    " OPENAI_ORG_ID from the environment",
    "apiVersion": "no API version header is sent",
    "max_retries": "evalbook's executor retries each call itself (--retries on `evalbook run`)",
    "maxRetries": "evalbook's executor retries each call itself (--retries on `evalbook run`)",
    "functionToolCallbacks": "tool callbacks are code: evalbook does not run them",
    "showThinking": "evalbook records the answer's text",
    "mcp": "evalbook does not connect models to MCP servers",
}
#: Ollama's native options (promptfoo's ollama provider calls /api/chat) → fields.
_OLLAMA = {"num_predict": "max_tokens"}
#: An API key written as a reference to the environment: ``${NAME}``, ``{{ env.NAME }}``,
#: ``env:NAME``.
_ENV_REF = re.compile(r"^(?:\$\{(\w+)\}|\{\{\s*env\.(\w+)\s*\}\}|env:(\w+))$")
#: Options that change nothing evalbook records: skipped without a note.
_SILENT = {"stream", "apiKeyEnvar", "apiBaseUrl", "apiHost"}
#: Provider entry fields (beside id, label, config, prompts) evalbook does not import.
PROVIDER_FIELDS = {
    "transform": "a provider's output transform is not imported",
    "delay": "set --concurrency on `evalbook run` instead of a delay",
    "env": "providers read their keys from the environment",
}

#: A config key that is not sent as it is: (key, what happened, whether it maps).
ConfigNote = tuple[str, str, bool]


def apply_config(model: dict[str, Any], config: dict[str, Any]) -> list[ConfigNote]:
    """Fill ``model`` from a provider's ``config``; the keys not sent as they are."""
    notes: list[ConfigNote] = []
    params: dict[str, Any] = {}
    sent = _SENT.get(model["provider"], _COMPATIBLE)
    cost: dict[str, Any] = {
        k: config[k] for k in ("cost", "inputCost", "outputCost") if k in config
    }
    for key, value in config.items():
        if key in _FIELDS:
            model[_FIELDS[key]] = value
        elif key in ("apiBaseUrl", "apiHost"):
            url = str(value)
            model["base_url"] = url if "://" in url else f"https://{url}/v1"
            if model["provider"] == "openai":
                model["provider"] = "openai-compatible"
        elif key == "apiKeyEnvar":
            model["api_key_env"] = value
        elif key == "apiKey" and (ref := _ENV_REF.match(str(value))):
            name = next(g for g in ref.groups() if g)
            model["api_key_env"] = name  # promptfoo reads config.apiKey first
            notes.append((key, f"the key is read from the environment variable {name}", True))
        elif key in sent:
            params[key] = value
        elif model["provider"] == "ollama" and key in _OLLAMA:
            model[_OLLAMA[key]] = value  # Ollama's native option for the same setting
        elif key == "passthrough" and isinstance(value, dict):
            notes.extend(_passthrough(model["provider"], value, params))
        elif key in cost or key in _SILENT:
            continue
        elif key in _NOT_IMPORTED:
            notes.append((key, _NOT_IMPORTED[key], False))
        else:
            api = {"openai": "OpenAI's", "anthropic": "Anthropic's"}.get(
                model["provider"], "an OpenAI-compatible API's"
            )
            notes.append((
                key,
                f"not sent: neither a request parameter of {api} API nor a promptfoo option"
                " evalbook maps (give it under the model's params: if the endpoint takes it)",
                False,
            ))  # fmt: skip
    if params:
        model["params"] = params
    price = _price(cost)
    if price is not None:
        model["price"] = price
        notes.append(
            (", ".join(cost), "per-token cost → the model's price per million tokens", True)
        )
    elif cost:
        notes.append((", ".join(cost), "a cost that is not a number is not imported", False))
    return notes


def _passthrough(provider: str, extra: dict[str, Any], params: dict[str, Any]) -> list[ConfigNote]:
    """``passthrough``: what promptfoo adds to the request body as it is. Sent so too,
    except to Ollama, whose native ``/api/chat`` promptfoo calls while evalbook calls its
    OpenAI-compatible endpoint: there ``format`` (a JSON schema, or ``json``) is sent as
    ``response_format`` and other keys are reported."""
    if provider != "ollama":
        params.update(extra)
        return [("passthrough", f"sent with each request: {', '.join(map(str, extra))}", True)]
    notes: list[ConfigNote] = []
    for key, value in extra.items():
        if key == "format" and value == "json":
            params["response_format"] = {"type": "json_object"}
        elif key == "format" and isinstance(value, dict):
            params["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": value},
            }
        else:
            notes.append((f"passthrough.{key}", "an Ollama /api/chat option: not sent", False))
            continue
        notes.append(("passthrough.format", "sent as response_format", True))
    return notes


def _price(cost: dict[str, Any]) -> dict[str, float] | None:
    """promptfoo's dollars per token (``cost`` for both, ``inputCost``/``outputCost``)."""
    both = cost.get("cost")
    given = [cost.get("inputCost", both), cost.get("outputCost", both)]
    numbers = [float(v) for v in given if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) != 2:
        return None
    return {
        "input_per_mtok": round(numbers[0] * 1e6, 9),
        "output_per_mtok": round(numbers[1] * 1e6, 9),
    }


def note_provider_fields(
    item: Any, file: str, line: int | None, pid: str, config_notes: list[ConfigNote],
    report: ImportReport,
) -> None:  # fmt: skip
    """Report a provider entry's fields evalbook does not import, and its config keys not
    sent as they are, each at its own line."""
    data = item
    if isinstance(item, dict) and "id" not in item and len(item) == 1:
        data = next(iter(item.values()))  # {ID: {label, config, …}}
    if not isinstance(data, dict):
        return
    for key in data:
        if key in ("id", "label", "config", "prompts"):  # prompts: see _own_versions
            continue
        reason = PROVIDER_FIELDS.get(key, "unknown provider field, not imported")
        report.note(file, line_of(data, key) or line, f"provider {pid}: {key}", reason)
    config = data.get("config")
    for key, reason, mapped in config_notes:
        first = key.split(", ")[0]
        at = line_of(config, first) if isinstance(config, dict) else None
        report.note(file, at or line, f"provider {pid}: config.{key}", reason, mapped=mapped)
