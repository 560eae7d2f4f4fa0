"""What a gate checks: the rules, and how they are written on a command line.

A rule is either an absolute floor (``min``: the candidate must reach it) or a drop
limit (``max-drop``: the candidate may be at most this much worse than the baseline, in
the metric's units and direction). Drop rules can be tempered: ``alpha`` makes them fail
only when the drop is statistically significant, and a noise floor (flat, or per metric
from A/A runs) makes them fail only when the drop exceeds run-to-run noise.

With no rule at all the gate is: the overall score and every scorer's mean fail when
they drop significantly (paired test, alpha 0.05) *or* when the point estimate drops by
more than 0.02 — so a clear regression on a suite too small to make it significant still
fails, and identical runs never do. Every drop rule reports the drop, its paired interval,
p, n and the smallest drop that n could have detected.

Whatever the rules, the candidate may have at most ``max_error_rate`` percent errored
cases (default: the candidate run's own ``--max-error-rate``, 0 unless set), and a drop
rule with no case scored in both runs fails: nothing shows the candidate is no worse.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from evalbook.analysis.history.noise import NoiseEstimate
from evalbook.errors import UserError

__all__ = ["DEFAULT_ALLOWED_DROP", "DEFAULT_ALPHA", "GateRules", "MetricRule", "parse_metric_rule"]

DEFAULT_ALPHA = 0.05
#: The drop of a point estimate the default gate allows (scores are in [0, 1]).
DEFAULT_ALLOWED_DROP = 0.02
_RULE = re.compile(r"^(?P<metric>[^:=]+(?::[^:=,]+)?):(?P<body>[a-z-]+=[^,]+(?:,[a-z-]+=[^,]+)*)$")


class MetricRule(BaseModel):
    """``--metric faithfulness:max-drop=0.3,min=0.7``."""

    model_config = ConfigDict(extra="forbid")

    metric: str
    max_drop: float | None = Field(default=None, ge=0)
    min: float | None = None


class GateRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_score: float | None = None
    max_drop: float | None = Field(default=None, ge=0)
    max_metric_drop: float | None = Field(default=None, ge=0)
    metrics: list[MetricRule] = Field(default_factory=list)
    max_new_failures: int | None = Field(default=None, ge=0)
    alpha: float | None = Field(default=None, gt=0, lt=1)
    noise_floor: float | None = Field(default=None, ge=0)
    noise: NoiseEstimate | None = None
    #: Also fail a drop rule on any significant drop at this alpha, whatever its size.
    significant_at: float | None = Field(default=None, gt=0, lt=1)
    #: Percent of the candidate's cases that may have errored (None: 0).
    max_error_rate: float | None = Field(default=None, ge=0, le=100)

    @property
    def has_rules(self) -> bool:
        return (
            self.min_score is not None
            or self.max_drop is not None
            or self.max_metric_drop is not None
            or bool(self.metrics)
            or self.max_new_failures is not None
        )

    def effective(self) -> GateRules:
        """These rules, or the default when none is given (modifiers are kept)."""
        if self.has_rules:
            return self
        return self.model_copy(
            update={
                "max_drop": DEFAULT_ALLOWED_DROP,
                "max_metric_drop": DEFAULT_ALLOWED_DROP,
                "alpha": None,
                "significant_at": self.alpha or DEFAULT_ALPHA,
            }
        )


def parse_metric_rule(text: str) -> MetricRule:
    """Parse ``NAME:max-drop=X[,min=Y]`` (``NAME`` may be ``section:S``)."""
    m = _RULE.match(text.strip())
    if m is None:
        raise UserError(
            f"--metric {text!r}: write NAME:max-drop=X or NAME:min=Y (both: NAME:max-drop=X,min=Y)"
        )
    fields: dict[str, float] = {}
    for part in m.group("body").split(","):
        key, _, raw = part.partition("=")
        if key not in ("max-drop", "min"):
            raise UserError(f"--metric {text!r}: unknown limit {key!r} (max-drop, min)")
        try:
            fields[key.replace("-", "_")] = float(raw)
        except ValueError:
            raise UserError(f"--metric {text!r}: {raw!r} is not a number") from None
    if fields.get("max_drop", 0) < 0:
        raise UserError(f"--metric {text!r}: max-drop cannot be negative")
    return MetricRule(metric=m.group("metric"), **fields)
