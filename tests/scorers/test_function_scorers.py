"""``@scorer`` functions and ``python`` specs run like built-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evalbook.core.suite import Case, ScorerKind
from evalbook.errors import ConfigError
from evalbook.scorers import (
    SCORERS,
    ScoreContext,
    ScoreOutcome,
    ScorerSet,
    build_scorer,
    parse_scorer_spec,
    scorer,
)

CASE = Case(id="c", expected="x")


@pytest.fixture(autouse=True)
def _fixture_module_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(Path(__file__).parent))


@pytest.fixture
def registered() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        SCORERS.unregister(name)


async def score_one(raw: object, output: str) -> tuple[float | None, bool, str | None]:
    scorers = ScorerSet.build([parse_scorer_spec(raw)])  # type: ignore[arg-type]
    records, _, passed = await scorers.score(ScoreContext(output=output, case=CASE), {})
    assert records[0].error is None, records[0].error
    return records[0].score, passed, records[0].label


async def test_decorated_bool_function(registered: list[str]) -> None:
    @scorer
    def is_polite(ctx: ScoreContext) -> bool:
        return "please" in (ctx.output or "")

    registered.append("is_polite")
    assert is_polite(ScoreContext(output="please", case=CASE)) is True  # returned unchanged
    assert await score_one("is_polite", "please help") == (1.0, True, None)
    assert await score_one("is_polite", "help") == (0.0, False, None)
    assert await score_one("not-is_polite", "help") == (1.0, True, None)
    assert build_scorer(parse_scorer_spec("is_polite")).kind is ScorerKind.code


async def test_decorated_float_function_uses_the_threshold(registered: list[str]) -> None:
    @scorer(name="brevity", kind=ScorerKind.heuristic, threshold=0.5)
    async def brevity(ctx: ScoreContext) -> float:
        return 1.0 - min(len(ctx.output or "") / 10, 1.0)

    registered.append("brevity")
    # 1 - len/10 with len 2 and 8: scores 0.8 and 0.2 (exact in binary after rounding).
    assert await score_one("brevity", "ab") == (0.8, True, None)
    assert await score_one("brevity", "abcdefgh") == (1.0 - 0.8, False, None)
    assert await score_one({"type": "brevity", "threshold": 0.1}, "abcdefgh") == (
        1.0 - 0.8,
        True,
        None,
    )
    assert build_scorer(parse_scorer_spec("brevity")).kind is ScorerKind.heuristic


async def test_decorated_outcome_function(registered: list[str]) -> None:
    @scorer(name="labelled")
    def labelled(ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=1.0, passed=True, label="yes")

    registered.append("labelled")
    assert await score_one("labelled", "") == (1.0, True, "yes")


def test_redefining_the_same_function_replaces_it(registered: list[str]) -> None:
    for _ in range(2):

        @scorer(name="redefined")
        def redefined(ctx: ScoreContext) -> bool:
            return True

    registered.append("redefined")


def test_a_builtin_name_cannot_be_taken(registered: list[str]) -> None:
    def contains(ctx: ScoreContext) -> bool:
        return True

    with pytest.raises(ConfigError, match="already registered"):
        scorer(contains)
    with pytest.raises(ConfigError, match="cannot name a scorer"):
        scorer(name="not-mine")(contains)


async def test_python_spec() -> None:
    assert await score_one({"python": "python_scorer_fixture:shouts"}, "HEY") == (1.0, True, None)
    assert await score_one("python:python_scorer_fixture:shouts", "hey") == (0.0, False, None)
    assert await score_one({"python": "python_scorer_fixture:length_ratio"}, "abcde") == (
        0.5,
        False,
        None,
    )
    assert await score_one(
        {"type": "python", "value": "python_scorer_fixture:async_outcome", "threshold": 0.4},
        "",
    ) == (0.5, True, "half")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("python_scorer_fixture", "needs a 'module:function' path"),
        ("os; rm -rf /:x", "needs a 'module:function' path"),
        ("no_such_module_xyz:f", "cannot import"),
        ("python_scorer_fixture:missing", "cannot import"),
        ("python_scorer_fixture:NOT_CALLABLE", "not callable"),
    ],
)
def test_python_spec_errors(target: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_scorer(parse_scorer_spec({"python": target}))


async def test_function_returning_garbage_is_an_error_record(registered: list[str]) -> None:
    @scorer(name="garbage")
    def garbage(ctx: ScoreContext) -> bool:
        return "yes"  # type: ignore[return-value]

    registered.append("garbage")
    records, score, passed = await ScorerSet.build([parse_scorer_spec("garbage")]).score(
        ScoreContext(output="x", case=CASE), {}
    )
    assert records[0].error is not None
    assert "must return ScoreOutcome, bool or float" in records[0].error
    assert (score, passed) == (None, False)
