"""Wire forms of the judge report (``evalbook judges --json``) and of pairwise pages."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from evalbook.core.pairwise import PairwiseJudgment

__all__ = ["AgreementOut", "HumanAgreementOut", "JudgeCriterion", "JudgmentPage"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgreementOut(_Model):
    """Krippendorff's α of the judge panel, with its bootstrap interval over cases."""

    metric: str
    value: float | None
    n_items: int
    n_raters: int
    ci_low: float | None
    ci_high: float | None
    interpretation: str


class HumanAgreementOut(_Model):
    """The judge against human reviews of the same criterion."""

    n: int
    alpha: float | None
    alpha_ci: list[float | None] | None
    pass_kappa: float | None
    judge_mean: float | None
    human_mean: float | None
    problem: str | None


class JudgeCriterion(_Model):
    """One judged criterion of a run: parse errors, mean with interval, panel members,
    agreement, cost."""

    name: str
    template: str | None
    judges: list[str]
    scored: int
    errors: int
    error_rate: float | None
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    member_means: dict[str, float]
    member_errors: dict[str, int]
    agreement: AgreementOut | None
    cost_usd: float | None
    tokens: int
    human: HumanAgreementOut | None


class JudgmentPage(_Model):
    """A page of a pairwise comparison's judgments; ``next_after`` continues."""

    items: list[PairwiseJudgment]
    next_after: str | None
