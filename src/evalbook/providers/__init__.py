"""Model providers: the interface, the registry and ``create_provider``.

The concrete providers (``openai``, ``anthropic``, ``local``, ``mock``, ``python`` …) are
reached through the registry by name, so importing this package imports no SDK.
"""

from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.registry import PROVIDERS, create_provider, provider

__all__ = [
    "PROVIDERS",
    "GenerateRequest",
    "GenerateResponse",
    "Provider",
    "create_provider",
    "provider",
]
