"""Anthropic's Messages API through the official ``anthropic`` SDK.

Same shape as the OpenAI provider, for the same reasons: SDK retries off (the executor
retries), and the documented raw-request path ``client.post(..., cast_to=httpx2.Response)``
so that no per-call params transform or pydantic parse is paid; only the recorded fields are
read from the JSON. Overloaded (529) and other 5xx replies are transient.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from evalbook.core.messages import ImagePart, Message
from evalbook.core.model_config import ModelConfig
from evalbook.errors import FatalProviderError, MissingExtraError, TransientError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.http_errors import connection_error, no_reply, server_message, status_error
from evalbook.providers.http_pool import aiohttp_available, pool_limits

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider", "anthropic_messages"]

#: The API requires ``max_tokens``; used when the model config leaves it unset.
DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    """Claude models; the key in ``ANTHROPIC_API_KEY`` (or ``api_key_env``) is required.

    ``base_url`` is the server root (the SDK appends ``/v1/messages``); a trailing ``/v1``,
    as written for OpenAI-style servers, is dropped.
    """

    name = "anthropic"
    supports_images = True

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        base = config.base_url
        if base is not None:
            base = base.rstrip("/")
            base = base.removesuffix("/v1")
        self.base_url = base
        self._api_key = self.api_key("ANTHROPIC_API_KEY") or ""
        self._client: AsyncAnthropic | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.name}:{self.base_url or 'default'}"

    def _sdk(self) -> AsyncAnthropic:
        """One SDK client per provider instance, made on first use (imports the SDK)."""
        if self._client is None:
            try:
                import anthropic
            except ImportError as exc:
                raise MissingExtraError("provider 'anthropic'", "anthropic") from exc
            pool = (
                anthropic.DefaultAioHttpClient
                if aiohttp_available()
                else anthropic.DefaultAsyncHttpxClient
            )
            self._client = anthropic.AsyncAnthropic(
                base_url=self.base_url,
                api_key=self._api_key,
                max_retries=0,
                timeout=self.config.timeout_s,
                http_client=pool(limits=pool_limits(self.max_connections)),
            )
        return self._client

    async def start(self) -> None:
        self._sdk()

    def request_body(self, request: GenerateRequest) -> dict[str, Any]:
        """The JSON body of one Messages API call."""
        cfg = request.config
        system, messages = anthropic_messages(request.messages, cfg.system_prompt)
        body: dict[str, Any] = {
            "model": cfg.name,
            "messages": messages,
            "max_tokens": cfg.max_tokens or DEFAULT_MAX_TOKENS,
        }
        if system:
            body["system"] = system
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.stop:
            body["stop_sequences"] = list(cfg.stop)
        # The Messages API has no seed; ``cfg.seed`` stays in the record but is not sent.
        body.update(cfg.params)
        return body

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        client = self._sdk()  # first: without the SDK, it says which extra installs it
        import anthropic
        import httpx2

        try:
            reply = await client.post(
                "/v1/messages", cast_to=httpx2.Response, body=self.request_body(request)
            )
        except anthropic.APIStatusError as exc:
            message = server_message(exc.body, exc.message)
            raise status_error(
                self.name, exc.status_code, message, exc.response.headers, secret=self._api_key
            ) from None
        except anthropic.APITimeoutError:
            raise no_reply(self.name, self.config.timeout_s) from None
        except anthropic.APIConnectionError as exc:
            raise connection_error(self.name, str(client.base_url), exc) from None
        except anthropic.AnthropicError as exc:
            raise FatalProviderError(f"{self.name}: {type(exc).__name__}: {exc}") from None
        return parse_message(self.name, reply.content)

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()


def anthropic_messages(
    messages: list[Message], system_prompt: str | None
) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)`` in the Messages API shape.

    System turns move to the ``system`` parameter (the API has no system role);
    ``system_prompt`` applies only when the messages carry none.
    """
    system_turns = [m.text for m in messages if m.role == "system"]
    system = "\n\n".join(system_turns) if system_turns else system_prompt
    out: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        if isinstance(m.content, str):
            out.append({"role": m.role, "content": m.content})
            continue
        blocks: list[dict[str, Any]] = []
        for p in m.content:
            if isinstance(p, ImagePart):
                source = {"type": "base64", "media_type": p.media_type, "data": p.data}
                blocks.append({"type": "image", "source": source})
            else:
                blocks.append({"type": "text", "text": p.text})
        out.append({"role": m.role, "content": blocks})
    return system, out


def parse_message(provider: str, raw: bytes) -> GenerateResponse:
    """The recorded fields of a Messages API reply; a reply that is not one is transient."""
    try:
        data = json.loads(raw)
        blocks = data["content"]
        text = "".join(
            b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str)
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        snippet = raw[:200].decode("utf-8", "replace")
        raise TransientError(
            f"{provider}: malformed reply ({type(exc).__name__}: {exc}): {snippet!r}"
        ) from None
    usage = data.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    return GenerateResponse(
        text=text,
        served_model=data.get("model"),
        input_tokens=_int_or_none(usage.get("input_tokens")),
        output_tokens=_int_or_none(usage.get("output_tokens")),
        finish_reason=data.get("stop_reason"),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
