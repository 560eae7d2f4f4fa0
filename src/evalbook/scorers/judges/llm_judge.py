"""``llm-judge``: a model grades the output on one or more rubric criteria.

Spec forms::

    - llm-judge: "Is the answer polite and on topic?"      # one criterion, 1–10
      judge: openai:gpt-4o-mini
    - llm-judge:
        judge: openai:gpt-4o-mini
        criteria: [faithfulness, concision]                 # built-ins, or full criteria
    - llm-judge:
        panel: [openai:gpt-4o-mini, anthropic:claude-3-5-haiku-latest, local:smollm2-135m]
        criteria: [{name: tone, description: "…", scale: [0, 1]}]

Several criteria write one score record each (named after the criterion, or
``<name>.<criterion>`` when the spec is named), from one judge call. A panel asks every
judge and records their mean, with each judge's grade in the evidence so agreement can be
measured (``analysis/agreement.py``). The judge's temperature (0) and seed (0) are pinned
and recorded; the template's ``name@version`` is recorded with every verdict.

Judge calls go through the executor's judge client (retries, response cache, connection
limits); their tokens and cost are recorded on the score, apart from the run's own cost.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig, parse_model_spec
from evalbook.core.secrets import check_no_secrets
from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.errors import ConfigError
from evalbook.scorers.base import JudgeReply, Part, ScoreContext, ScoreOutcome, Scorer, Usage
from evalbook.scorers.judges.prompts import (
    CRITERIA,
    RUBRIC_TEMPLATES,
    Criterion,
    render_judge,
    resolve_template,
)
from evalbook.scorers.judges.verdict import JudgeVerdictError, parse_rubric

__all__ = ["JudgeError", "JudgeOptions", "LLMJudge", "judge_config", "sum_usage"]

DEFAULT_JUDGE_MAX_TOKENS = 512


class JudgeError(RuntimeError):
    """No judge gave a verdict; carries what the calls cost so it is still recorded."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class JudgeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    judge: str | dict[str, Any] | None = None
    panel: list[str | dict[str, Any]] | None = Field(default=None, min_length=2)
    criteria: list[str | Criterion] | None = Field(default=None, min_length=1)
    template: str | dict[str, Any] = "rubric"
    reference: bool | None = None
    temperature: float = Field(default=0.0, ge=0)
    seed: int | None = 0
    max_tokens: int = Field(default=DEFAULT_JUDGE_MAX_TOKENS, ge=16)


def judge_config(
    raw: str | dict[str, Any], *, temperature: float, seed: int | None, max_tokens: int
) -> ModelConfig:
    """A judge's model config: generation settings pinned unless the judge sets its own."""
    pinned = {"temperature": temperature, "seed": seed, "max_tokens": max_tokens}
    try:
        if isinstance(raw, str):
            config = parse_model_spec(raw, **pinned)
        else:
            config = ModelConfig.model_validate({**pinned, **raw})
        check_no_secrets(config, "judge")
        return config
    except (ConfigError, ValidationError) as exc:
        raise ValueError(f"judge {raw!r}: {exc}") from None


def sum_usage(replies: list[JudgeReply]) -> Usage:
    """Tokens and cost of several calls; the cost is unknown (``None``) if any is."""
    tokens_in = sum(r.input_tokens or 0 for r in replies)
    tokens_out = sum(r.output_tokens or 0 for r in replies)
    costs = [r.cost_usd for r in replies]
    cost = None if any(c is None for c in costs) else float(sum(c or 0.0 for c in costs))
    return Usage(tokens_in, tokens_out, cost)


class LLMJudge(Scorer):
    """Rubric grading by one judge model or a panel; see the module docstring."""

    kind: ClassVar[ScorerKind] = ScorerKind.llm_judge
    default_threshold: ClassVar[float] = 0.5
    Options: ClassVar[type[BaseModel]] = JudgeOptions

    def __init__(self, spec: ScorerSpec) -> None:
        super().__init__(spec)
        opts: JudgeOptions = self.options
        if (opts.judge is None) == (opts.panel is None):
            raise ValueError(
                f"scorer {spec.type!r} needs exactly one of 'judge' (a model, e.g."
                " 'openai:gpt-4o-mini') or 'panel' (two or more models)"
            )
        raw_judges = [opts.judge] if opts.judge is not None else list(opts.panel or [])
        self.judges = [
            judge_config(
                j, temperature=opts.temperature, seed=opts.seed, max_tokens=opts.max_tokens
            )
            for j in raw_judges
            if j is not None
        ]
        self.criteria = self._criteria(spec, opts)
        self.template = resolve_template(opts.template, RUBRIC_TEMPLATES)
        needs_reference = any(c.reference for c in self.criteria)
        self.uses_reference = opts.reference if opts.reference is not None else needs_reference
        self._named = opts.criteria is not None

    @staticmethod
    def _criteria(spec: ScorerSpec, opts: JudgeOptions) -> list[Criterion]:
        if opts.criteria is None:
            if not isinstance(spec.value, str) or not spec.value.strip():
                raise ValueError(
                    f"scorer {spec.type!r} needs a rubric (its value) or 'criteria'"
                    f" (built-ins: {', '.join(CRITERIA)})"
                )
            return [Criterion(name="rubric", description=spec.value.strip())]
        out: list[Criterion] = []
        for c in opts.criteria:
            if isinstance(c, str):
                if c not in CRITERIA:
                    raise ValueError(
                        f"unknown criterion {c!r}; give {{name, description}} or use a"
                        f" built-in: {', '.join(CRITERIA)}"
                    )
                c = CRITERIA[c]
            out.append(c)
        names = [c.name for c in out]
        if len(set(names)) != len(names):
            raise ValueError(f"criteria names repeat: {names}")
        return out

    # -- how the records look ------------------------------------------------------------

    @property
    def record_name(self) -> str:
        if self.spec.name or len(self.criteria) > 1 or not self._named:
            return self.spec.metric_name
        return self.criteria[0].name

    @property
    def threshold(self) -> float:
        if self.spec.threshold is not None:
            return self.spec.threshold
        return self.criteria[0].threshold if len(self.criteria) == 1 else self.default_threshold

    def parts(self) -> tuple[Part, ...]:
        if len(self.criteria) == 1:
            return ()
        return tuple(Part(c.name, c.weight, c.threshold) for c in self.criteria)

    def check_case(self, case: Case) -> None:
        # Named criteria with a value judge against the value (``_variables``), so the
        # case needs no expected of its own then.
        given = self._named and self.spec.value is not None
        if self.uses_reference and case.expected is None and not given:
            raise ValueError(
                f"case {case.id!r} has no expected value, which the reference-based judge"
                f" {self.spec.metric_name!r} needs"
            )

    # -- scoring ---------------------------------------------------------------------------

    def judge_models(self) -> tuple[ModelConfig, ...]:
        return tuple(self.judges)

    def judge_messages(self, ctx: ScoreContext) -> list[Message]:
        return render_judge(self.template, self._variables(ctx))

    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        if ctx.judge is None:
            raise RuntimeError(
                "an llm-judge scorer needs a judge client; score through a run or"
                " `evalbook rescore`"
            )
        messages = self.judge_messages(ctx)
        calls = [ctx.judge(cfg, messages, scope=self.template.id) for cfg in self.judges]
        replies = await asyncio.gather(*calls, return_exceptions=True)
        ok: list[JudgeReply] = []
        votes: list[dict[str, Any]] = []
        for cfg, reply in zip(self.judges, replies, strict=True):
            if isinstance(reply, BaseException):
                if not isinstance(reply, Exception):
                    raise reply
                votes.append({"model": cfg.spec, "error": f"{type(reply).__name__}: {reply}"})
                continue
            ok.append(reply)
            try:
                verdict = parse_rubric(reply.text, self.criteria)
            except JudgeVerdictError as exc:
                votes.append({"model": cfg.spec, "error": str(exc), "cached": reply.cached})
                continue
            votes.append(
                {
                    "model": cfg.spec,
                    "raw": verdict.raw,
                    "reason": verdict.reason,
                    "source": verdict.source,
                    "cached": reply.cached,
                }
            )
        usage = sum_usage(ok)
        good = [v for v in votes if "raw" in v]
        if not good:
            errors = "; ".join(f"{v['model']}: {v['error']}" for v in votes)
            raise JudgeError(f"no judge verdict ({errors})", usage)
        outcomes = {c.name: self._criterion_outcome(c, good, votes) for c in self.criteria}
        if len(self.criteria) == 1:
            only = outcomes[self.criteria[0].name]
            return ScoreOutcome(
                score=only.score,
                label=only.label,
                rationale=only.rationale,
                evidence=only.evidence,
                usage=usage,
            )
        return ScoreOutcome(score=None, parts=outcomes, usage=usage)

    def _criterion_outcome(
        self, c: Criterion, good: list[dict[str, Any]], votes: list[dict[str, Any]]
    ) -> ScoreOutcome:
        raws = [float(v["raw"][c.name]) for v in good]
        raw = sum(raws) / len(raws)
        if len(good) == 1:
            rationale = good[0]["reason"]
        else:
            rationale = "\n".join(f"{v['model']}: {v['reason'] or '—'}" for v in good)
        details = {
            "criterion": c.name,
            "scale": list(c.scale),
            "raw": raw,
            "template": self.template.id,
            "temperature": self.options.temperature,
            "seed": self.options.seed,
            "votes": [
                {
                    "model": v["model"],
                    "raw": v["raw"][c.name] if "raw" in v else None,
                    "cached": v.get("cached"),
                    "error": v.get("error"),
                }
                for v in votes
            ],
        }
        return ScoreOutcome(
            score=c.normalise(raw),
            label=f"{raw:g}",
            rationale=rationale,
            evidence={"judge_model": ", ".join(j.spec for j in self.judges), "details": details},
        )

    def _variables(self, ctx: ScoreContext) -> dict[str, Any]:
        reference = None
        if self.uses_reference:
            expected = ctx.value if ctx.value is not None and self._named else ctx.expected
            reference = expected if isinstance(expected, str) else json.dumps(expected)
        criteria = self.criteria
        if not self._named and isinstance(ctx.value, str) and ctx.value.strip():
            # The rubric is the scorer's value, rendered for this case like any value
            # (``{{ topic }}`` in it is the case's topic, not the braces).
            criteria = [criteria[0].model_copy(update={"description": ctx.value.strip()})]
        example = {c.name: c.scale[1] for c in criteria} | {"reason": "…"}
        return {
            "input": ctx.prompt if ctx.prompt is not None else json.dumps(ctx.case.vars),
            "output": ctx.output or "",
            "reference": reference,
            "criteria": [c.model_dump() for c in criteria],
            "example": json.dumps(example, ensure_ascii=False),
        }
