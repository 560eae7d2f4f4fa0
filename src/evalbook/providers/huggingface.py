"""Hugging Face Inference API text generation (``huggingface:MODEL``).

The API's ``text-generation`` task takes the prompt as raw text, with no chat template:
``POST {base_url}/models/MODEL`` with ``{"inputs": TEXT, "parameters": {...}}`` answers
``[{"generated_text": TEXT}]``. This is promptfoo's ``huggingface:text-generation:MODEL``;
for a model served with a chat template, use the router's OpenAI-compatible endpoint
(``openai-compatible:MODEL@https://router.huggingface.co/v1``) instead.

The prompt's messages are joined into that text (each message's text, a blank line
between, the config's system prompt first when no message is a system one). The config's
``temperature``, ``max_tokens`` (sent as ``max_new_tokens``), ``seed`` and ``stop`` and
its ``params`` (``top_k``, ``top_p``, ``repetition_penalty``, ``do_sample``, …) go into
``parameters``, with ``return_full_text: false`` unless ``params`` says otherwise, as
promptfoo sends it. The token comes from ``HF_TOKEN`` (else ``HF_API_TOKEN``, or the
config's ``api_key_env``) and is optional, as the API serves some models without one.
The API returns no token counts, so tokens and cost stay unknown.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import FatalProviderError, TransientError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.openai_wire import OpenAIWireClient

__all__ = ["HuggingFaceProvider", "prompt_text"]

#: The Inference API behind Hugging Face's router (``/models/MODEL`` is appended).
DEFAULT_BASE_URL = "https://router.huggingface.co/hf-inference"
_KEY_ENVS = ("HF_TOKEN", "HF_API_TOKEN")


class HuggingFaceProvider(Provider):
    """A model of the Hugging Face Inference API's text-generation task."""

    name = "huggingface"
    default_base_url: ClassVar[str] = DEFAULT_BASE_URL

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.base_url = config.base_url or self.default_base_url
        if config.api_key_env is not None:
            self._api_key = self.api_key(None)
        else:
            self._api_key = next((os.environ[e] for e in _KEY_ENVS if os.environ.get(e)), None)
        self._wire: OpenAIWireClient | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.name}:{self.base_url}"

    def _client(self) -> OpenAIWireClient:
        if self._wire is None:
            self._wire = OpenAIWireClient(
                self.name,
                self.base_url,
                self._api_key,
                max_connections=self.max_connections,
                timeout_s=self.config.timeout_s,
                path=f"/models/{self.config.name}",
            )
        return self._wire

    async def start(self) -> None:
        self._client()

    def request_body(self, request: GenerateRequest) -> dict[str, Any]:
        """The JSON body of one text-generation call."""
        cfg = request.config
        parameters: dict[str, Any] = {"return_full_text": False}
        if cfg.temperature is not None:
            parameters["temperature"] = cfg.temperature
        if cfg.max_tokens is not None:
            parameters["max_new_tokens"] = cfg.max_tokens
        if cfg.seed is not None:
            parameters["seed"] = cfg.seed
        if cfg.stop:
            parameters["stop"] = list(cfg.stop)
        parameters.update(cfg.params)
        return {
            "inputs": prompt_text(request.messages, cfg.system_prompt),
            "parameters": parameters,
        }

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        raw = await self._client().post(self.request_body(request))
        return parse_generation(self.name, raw)

    async def aclose(self) -> None:
        if self._wire is not None:
            wire, self._wire = self._wire, None
            await wire.close()


def prompt_text(messages: list[Message], system_prompt: str | None) -> str:
    """The raw text sent as ``inputs``: each message's text, a blank line between."""
    texts = [m.text for m in messages]
    if system_prompt and not any(m.role == "system" for m in messages):
        texts.insert(0, system_prompt)
    return "\n\n".join(t for t in texts if t)


def parse_generation(provider: str, raw: bytes) -> GenerateResponse:
    """The generated text of a reply (``[{generated_text}]`` or ``{generated_text}``); an
    ``{"error"}`` body with a 200 status is fatal, anything else malformed (transient)."""
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    item = data[0] if isinstance(data, list) and data else data
    if isinstance(item, dict) and isinstance(item.get("generated_text"), str):
        return GenerateResponse(text=item["generated_text"])
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        raise FatalProviderError(f"{provider}: {data['error']}")
    snippet = raw[:200].decode("utf-8", "replace")
    raise TransientError(f"{provider}: malformed reply (no generated_text): {snippet!r}")
