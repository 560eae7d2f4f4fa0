"""Run-to-run noise from A/A runs: the same suite, model and prompt, run K times.

Why: a sampled model, a judge, a provider's batching all move scores between identical
runs. A gate that fails on a drop smaller than that noise fails at random. K recorded
runs give each metric's standard deviation across runs; the *noise floor* of a
comparison is ``z × sd × √2`` (the spread of the difference of two runs), and the gate
can require a drop beyond it before failing.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from evalbook.analysis.compare.run_metrics import recorded_metrics
from evalbook.errors import UserError
from evalbook.storage.store import Store

__all__ = ["MetricNoise", "NoiseEstimate", "estimate_noise", "load_noise"]

DEFAULT_Z = 2.0
_RUN_KEYS = ("score", "pass_rate")


class MetricNoise(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: list[float]
    mean: float
    sd: float
    floor: float  # z × sd × √2: a drop smaller than this is within run-to-run noise


class NoiseEstimate(BaseModel):
    """Noise per metric key (``score``, ``pass_rate``, scorers, ``section:NAME``)."""

    model_config = ConfigDict(extra="forbid")

    suite_id: str
    model: str
    prompt: str
    runs: list[str]
    z: float
    metrics: dict[str, MetricNoise]

    def floor(self, key: str) -> float:
        m = self.metrics.get(key)
        return 0.0 if m is None else m.floor


def estimate_noise(store: Store, run_ids: list[str], *, z: float = DEFAULT_Z) -> NoiseEstimate:
    """The noise of every metric the runs share (at least two completed runs)."""
    if len(run_ids) < 2:
        raise UserError("a noise estimate needs at least two runs (--runs 2 or more)")
    runs = [store.get_run(r) for r in run_ids]
    first = runs[0]
    if any(r.suite_id != first.suite_id for r in runs):
        raise UserError("noise runs must all be of one suite")
    per_run = [recorded_metrics(store, r.id) for r in runs]
    keys = set.intersection(*(set(m) for m in per_run))
    wanted = sorted(k for k in keys if k in _RUN_KEYS or k.startswith("section:") or _is_scorer(k))
    metrics = {}
    for key in wanted:
        values = [m[key].value for m in per_run]
        if any(v is None for v in values):
            continue
        arr = np.asarray(values, dtype=np.float64)
        sd = float(arr.std(ddof=1))
        metrics[key] = MetricNoise(
            values=[float(v) for v in arr],
            mean=float(arr.mean()),
            sd=sd,
            floor=z * sd * math.sqrt(2),
        )
    return NoiseEstimate(
        suite_id=first.suite_id,
        model=f"{first.model.get('provider')}:{first.model.get('name')}",
        prompt=f"{first.prompt_name} v{first.prompt_version}",
        runs=[r.id for r in runs],
        z=z,
        metrics=metrics,
    )


def _is_scorer(key: str) -> bool:
    return key not in ("error_rate", "cost") and not key.startswith("latency_")


def load_noise(path: Path) -> NoiseEstimate:
    """A noise estimate written by ``evalbook noise -o FILE``."""
    try:
        return NoiseEstimate.model_validate_json(path.read_text())
    except (OSError, ValidationError) as exc:
        raise UserError(f"{path}: not a noise estimate written by `evalbook noise`: {exc}") from exc
