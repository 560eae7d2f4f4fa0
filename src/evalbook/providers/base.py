"""What every model provider implements, and the values that cross that boundary."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig, Price
from evalbook.core.result import ProviderEvidence
from evalbook.errors import ConfigError


@dataclass(frozen=True)
class GenerateRequest:
    """One model call: rendered messages plus the model config (and its timeout)."""

    messages: list[Message]
    config: ModelConfig
    #: The case's variables and id, for providers that run the user's own code.
    variables: dict[str, Any] = field(default_factory=dict)
    case_id: str | None = None


@dataclass(frozen=True)
class GenerateResponse:
    """What came back. ``served_model`` / ``system_fingerprint`` are what the endpoint says
    it ran, kept apart from the requested name in ``ModelConfig``."""

    text: str
    structured: dict[str, Any] | None = None
    served_model: str | None = None
    system_fingerprint: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    trace_id: str | None = None
    #: What the call showed besides its text (a browser page's screenshot and HTML).
    evidence: ProviderEvidence | None = None


class Provider(ABC):
    """A model endpoint. Implementations raise :class:`evalbook.errors.ProviderError`
    subclasses, classified so the executor knows whether to retry:

    - ``RateLimitError`` (429; set ``retry_after`` from the header),
    - ``TransientError`` (5xx, timeout, connection reset, malformed reply),
    - ``FatalProviderError`` (auth, 4xx validation).

    SDK retries must be off: the executor retries and logs every attempt.
    """

    #: Registry name (``openai``, ``local`` …).
    name: ClassVar[str]
    #: Connections per endpoint when the model config names none and no run says how
    #: many items it keeps in flight (a judge, a one-off call).
    default_max_connections: ClassVar[int] = 16
    #: Whether ``default_max_connections`` is all the provider can take (one model in this
    #: process, one browser page) rather than a default: a run's concurrency never raises it.
    fixed_max_connections: ClassVar[bool] = False
    #: Whether the provider accepts image parts.
    supports_images: ClassVar[bool] = False
    #: Whether answers may depend on the case (its variables and id) beyond the rendered
    #: messages — user code does — so that the case is part of the response cache key.
    reads_case: bool = False

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        #: Items the run keeps in flight (``--concurrency``): the endpoint's connection
        #: limit when the model config sets none, so that asking for 100 gives 100.
        self.run_concurrency: int | None = None

    @classmethod
    def resolve_config(cls, config: ModelConfig, *, base_dir: Path | None = None) -> ModelConfig:
        """The config as the run records it, before the run starts. A provider whose
        model lives in a file (a browser site profile) reads it here, relative to
        ``base_dir`` (the suite's folder) when not found as given, so that the run
        keeps what it used and a resume never reads a file edited since."""
        return config

    def answer_identity(self) -> dict[str, Any]:
        """What the answers depend on, for response cache keys; transport knobs left out."""
        return self.config.identity()

    @property
    def endpoint(self) -> str:
        """Key of the per-endpoint connection limit, shared by every run in the process."""
        return f"{self.name}:{self.config.base_url or 'default'}"

    @property
    def max_connections(self) -> int:
        """Connections this process opens to the endpoint at most: the model config's
        ``max_connections``, else the run's concurrency, else the provider's default."""
        if self.config.max_connections:
            return self.config.max_connections
        if self.run_concurrency and not self.fixed_max_connections:
            return self.run_concurrency
        return self.default_max_connections

    def price(self) -> Price | None:
        """Price per million tokens; ``None`` means unknown (cost is then unknown, not 0)."""
        if self.config.price is not None:
            return self.config.price
        from evalbook.providers.pricing import lookup_price

        return lookup_price(self.name, self.config.name)

    def prepare(self, *, progress: bool = False) -> None:
        """Fetch what the provider needs on disk, before any progress display starts
        (the local model's weights download here, with their own progress bar)."""
        return None

    async def start(self) -> None:
        """Load or connect before the first call (the local model loads here)."""
        return None

    @abstractmethod
    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        """Call the model once (no retries)."""

    async def aclose(self) -> None:
        return None

    def api_key(self, default_env: str | None, *, required: bool = True) -> str | None:
        """Read the API key from the environment variable named in the config."""
        env_name = self.config.api_key_env or default_env
        if env_name is None:
            return None
        value = os.environ.get(env_name)
        if not value and required:
            raise ConfigError(
                f"provider {self.name!r} needs an API key in the environment variable"
                f" {env_name} (set it, or name another variable with api_key_env)"
            )
        return value


def cost_usd(
    price: Price | None, input_tokens: int | None, output_tokens: int | None
) -> float | None:
    """Tokens times price; unknown price or unknown token counts give ``None``, never 0."""
    if price is None or input_tokens is None or output_tokens is None:
        return None
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1e6
