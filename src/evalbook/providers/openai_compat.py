"""OpenAI chat completions, and every server that speaks them (vLLM, Ollama, proxies).

``openai:`` goes through the official ``openai`` SDK (its auth, headers, base-URL handling
and error classes) with SDK retries off: the executor retries and records every attempt.
The ``openai-compatible`` family (``vllm:``, ``ollama:``) speaks the same JSON through
:class:`~evalbook.providers.openai_wire.OpenAIWireClient`, whose per-call CPU is a quarter
of the SDK's (see that module for the figures; ``http://`` endpoints go through
:mod:`~evalbook.providers.plain_http`, at less than half of aiohttp's); use
``openai:NAME@BASE_URL`` to send a self-hosted endpoint through the SDK instead.

Why ``client.post(..., cast_to=httpx2.Response)`` rather than
``client.chat.completions.create``: the SDK's documented escape hatch for raw requests
skips its request-params transform and the pydantic parse of the reply, which together
cost about as much CPU as the HTTP exchange itself (measured on a 2-core box: 3.3-4.5 →
2.2-2.6 ms per call with httpx2, 1.4-1.6 ms with the aiohttp transport). Only the few reply
fields evalbook records are read from the JSON.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, ClassVar

from evalbook.core.messages import ImagePart, Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, TransientError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.http_errors import connection_error, no_reply, server_message, status_error
from evalbook.providers.http_pool import aiohttp_available, pool_limits
from evalbook.providers.openai_wire import OpenAIWireClient

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "OllamaProvider",
    "OpenAICompatibleProvider",
    "OpenAIProvider",
    "VLLMProvider",
    "openai_messages",
]


class OpenAICompatibleProvider(Provider):
    """Any ``/v1/chat/completions`` endpoint; ``base_url`` is required, the key optional."""

    name = "openai-compatible"
    supports_images = True
    #: Used when the model config names no ``base_url``; ``None`` makes it required.
    default_base_url: ClassVar[str | None] = None
    #: Environment variable read for the key when the config names none.
    default_api_key_env: ClassVar[str | None] = None
    api_key_required: ClassVar[bool] = False
    #: OpenAI itself wants ``max_completion_tokens``; most compatible servers ``max_tokens``.
    max_tokens_field: ClassVar[str] = "max_tokens"
    #: Whether the SDK's own default URL (api.openai.com) is acceptable.
    sdk_default_url_ok: ClassVar[bool] = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self.base_url = config.base_url or self.default_base_url
        if self.base_url is None and not self.sdk_default_url_ok:
            raise ConfigError(
                f"provider {self.name!r} needs a base_url (e.g. "
                f"'{self.name}:{config.name}@http://127.0.0.1:8000/v1')"
            )
        required = self.api_key_required or config.api_key_env is not None
        self._api_key = self.api_key(self.default_api_key_env, required=required) or "not-needed"
        self._wire: OpenAIWireClient | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.name}:{self.base_url or 'default'}"

    def _client(self) -> OpenAIWireClient:
        if self._wire is None:
            assert self.base_url is not None
            self._wire = OpenAIWireClient(
                self.name,
                self.base_url,
                self._api_key,
                max_connections=self.max_connections,
                timeout_s=self.config.timeout_s,
            )
        return self._wire

    async def start(self) -> None:
        self._client().open()

    def request_body(self, request: GenerateRequest) -> dict[str, Any]:
        """The JSON body of one chat completion call."""
        cfg = request.config
        body: dict[str, Any] = {
            "model": cfg.name,
            "messages": openai_messages(request.messages, cfg.system_prompt),
        }
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.max_tokens is not None:
            body[self.max_tokens_field] = cfg.max_tokens
        if cfg.seed is not None:
            body["seed"] = cfg.seed
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        body.update(cfg.params)
        return body

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        raw = await self._client().post(self.request_body(request))
        return parse_chat_completion(self.name, raw)

    async def aclose(self) -> None:
        if self._wire is not None:
            wire, self._wire = self._wire, None
            await wire.close()


class OpenAIProvider(OpenAICompatibleProvider):
    """api.openai.com (or ``base_url``) through the official SDK; ``OPENAI_API_KEY`` required."""

    name = "openai"
    default_api_key_env = "OPENAI_API_KEY"
    api_key_required = True
    max_tokens_field = "max_completion_tokens"
    sdk_default_url_ok = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self._sdk_client: AsyncOpenAI | None = None

    def _sdk(self) -> AsyncOpenAI:
        """One SDK client per provider instance, made on first use (imports the SDK)."""
        if self._sdk_client is None:
            import openai

            pool = (
                openai.DefaultAioHttpClient
                if aiohttp_available()
                else openai.DefaultAsyncHttpxClient
            )
            self._sdk_client = openai.AsyncOpenAI(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=0,
                timeout=self.config.timeout_s,
                http_client=pool(limits=pool_limits(self.max_connections)),
            )
        return self._sdk_client

    async def start(self) -> None:
        self._sdk()

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        import httpx2
        import openai

        client = self._sdk()
        try:
            reply = await client.post(
                "/chat/completions", cast_to=httpx2.Response, body=self.request_body(request)
            )
        except openai.APIStatusError as exc:
            message = server_message(exc.body, exc.message)
            raise status_error(
                self.name, exc.status_code, message, exc.response.headers, secret=self._api_key
            ) from None
        except openai.APITimeoutError:
            raise no_reply(self.name, self.config.timeout_s) from None
        except openai.APIConnectionError as exc:
            raise connection_error(self.name, str(client.base_url), exc) from None
        except openai.OpenAIError as exc:
            raise FatalProviderError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        return parse_chat_completion(self.name, reply.content)

    async def aclose(self) -> None:
        if self._sdk_client is not None:
            client, self._sdk_client = self._sdk_client, None
            await client.close()


class OllamaProvider(OpenAICompatibleProvider):
    """A local Ollama server's OpenAI-compatible endpoint."""

    name = "ollama"
    default_base_url = "http://127.0.0.1:11434/v1"


class VLLMProvider(OpenAICompatibleProvider):
    """A vLLM server's OpenAI-compatible endpoint."""

    name = "vllm"
    default_base_url = "http://127.0.0.1:8000/v1"


def openai_messages(messages: list[Message], system_prompt: str | None) -> list[dict[str, Any]]:
    """Messages in the OpenAI shape; images become ``data:`` URLs.

    ``system_prompt`` is prepended only when the messages carry no system message, so a
    prompt template that writes its own system turn wins.
    """
    out: list[dict[str, Any]] = []
    if system_prompt and not any(m.role == "system" for m in messages):
        out.append({"role": "system", "content": system_prompt})
    for m in messages:
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
            continue
        parts: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, ImagePart):
                url = f"data:{p.media_type};base64,{p.data}"
                parts.append({"type": "image_url", "image_url": {"url": url}})
            else:
                parts.append({"type": "text", "text": p.text})
        out.append({"role": m.role, "content": parts})
    return out


def parse_chat_completion(provider: str, raw: bytes) -> GenerateResponse:
    """The recorded fields of a chat completion; a reply that is not one is transient."""
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        message = choice.get("message") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        snippet = raw[:200].decode("utf-8", "replace")
        raise TransientError(
            f"{provider}: malformed reply ({type(exc).__name__}: {exc}): {snippet!r}"
        ) from None
    content = message.get("content")
    if not isinstance(content, str):  # null when the model refused or only called tools
        refusal = message.get("refusal")
        content = refusal if isinstance(refusal, str) else ""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    return GenerateResponse(
        text=content,
        served_model=data.get("model"),
        system_fingerprint=data.get("system_fingerprint"),
        input_tokens=_int_or_none(usage.get("prompt_tokens")),
        output_tokens=_int_or_none(usage.get("completion_tokens")),
        finish_reason=choice.get("finish_reason"),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
