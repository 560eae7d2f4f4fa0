"""``code-exec``: run the model's code against the case's tests in a sandbox.

The functional-correctness check of HumanEval-style suites: the output's code (the
first fenced Python block, else the whole output), optionally after the case's prompt
(``prompt_prefix``: HumanEval prompts hold the signature and docstring, completion
models write only the body), then the test code (the spec's ``value``, usually
``"{{ test }}"``), then ``check(<entry_point>)`` when an entry point is given, all run
as one program by :func:`evalbook.scorers.sandbox.runner.run_python`. Score 1 when it runs to
its end, else 0, with the reason (an assertion, a timeout, the memory limit) as the
rationale and the sandbox status as the label.

It runs the model's code, so the sandbox's limits matter: see that module for what is
isolated and what is not.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from evalbook.core.suite import Case, ScorerKind
from evalbook.core.templating import render_string
from evalbook.errors import TemplateError
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer
from evalbook.scorers.sandbox.runner import SandboxLimits, SandboxResult, run_python

__all__ = ["CodeExec", "CodeExecOptions", "build_program", "extract_code"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_PYTHON_TAGS = frozenset({"", "python", "python3", "py"})
_RATIONALE_CHARS = 400


class CodeExecOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Function the tests' ``check(candidate)`` is called with (template allowed).
    entry_point: str | None = None
    #: Code put before the output (template allowed), e.g. ``"{{ prompt }}"``.
    prompt_prefix: str | None = None
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    memory_mb: int = Field(default=512, ge=64, le=65536)


def extract_code(output: str, entry_point: str | None = None) -> str:
    """The code in a model's answer: a fenced Python (or untagged) block, preferring one
    that defines ``entry_point``; else the whole answer. Leading indentation is kept,
    since a completion may be an indented function body."""
    blocks: list[str] = [
        match[2] for match in _FENCE.finditer(output) if match[1].lower() in _PYTHON_TAGS
    ]
    if not blocks:
        return output.strip("\n").rstrip()
    if entry_point:
        for body in blocks:
            if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", body, re.M):
                return body.rstrip()
    return blocks[0].rstrip()


def build_program(code: str, tests: str, entry_point: str | None, prefix: str | None) -> str:
    """HumanEval's layout: ``prompt + completion``, the tests, ``check(entry_point)``."""
    parts = []
    if prefix:
        parts.append(prefix if prefix.endswith("\n") else prefix + "\n")
    parts.append(code + "\n\n")
    parts.append(tests + "\n")
    if entry_point:
        parts.append(f"\ncheck({entry_point})\n")
    return "".join(parts)


class CodeExec(Scorer):
    """Score 1 when the output's code passes the case's tests in the sandbox."""

    kind: ClassVar[ScorerKind] = ScorerKind.code
    requires_value: ClassVar[bool] = True
    Options: ClassVar[type[BaseModel]] = CodeExecOptions
    options: CodeExecOptions

    def check_case(self, case: Case) -> None:
        """Fail the suite load for a case whose entry point or prefix cannot render."""
        super().check_case(case)
        try:
            entry = _render(self.options.entry_point, case)
            _render(self.options.prompt_prefix, case)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        if entry is not None and not entry.isidentifier():
            raise ValueError(f"case {case.id!r}: entry_point {entry!r} is not a Python name")

    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        if ctx.output is None:
            return ScoreOutcome(score=0.0, passed=False, rationale="no output to run")
        if not isinstance(ctx.value, str):
            raise ValueError(f"scorer {self.spec.metric_name!r} needs the test code as a string")
        entry = _render(self.options.entry_point, ctx.case)
        prefix = _render(self.options.prompt_prefix, ctx.case)
        if entry is not None and not entry.isidentifier():
            raise ValueError(f"entry_point {entry!r} is not a Python name")
        code = extract_code(ctx.output, entry)
        program = build_program(code, ctx.value, entry, prefix)
        limits = SandboxLimits(timeout_s=self.options.timeout_s, memory_mb=self.options.memory_mb)
        result = await run_python(program, limits)
        return ScoreOutcome(
            score=1.0 if result.passed else 0.0,
            passed=result.passed,
            label=result.status.value,
            rationale=_rationale(result),
            evidence={"isolation": list(result.isolation), "duration_s": result.duration_s},
        )


def _render(source: str | None, case: Case) -> str | None:
    if source is None:
        return None
    variables: dict[str, Any] = {"expected": case.expected, "case_id": case.id, **case.vars}
    return render_string(source, variables, case_id=case.id)


def _rationale(result: SandboxResult) -> str:
    text = f"{result.status.value}: {result.detail} ({result.duration_s:.2f} s)"
    if result.status.value == "failed" and result.stderr.strip():
        tail = result.stderr.strip()[-_RATIONALE_CHARS:]
        text += f"\n{tail}"
    return text
