"""ScorerSet: per-scorer verdicts, weighted score, templates, failures as records."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from evalbook.core.identity import content_hash
from evalbook.core.suite import Case, ScorerKind, ScorerSpec
from evalbook.errors import UnknownNameError
from evalbook.scorers import (
    SCORERS,
    ScoreContext,
    ScoreOutcome,
    Scorer,
    ScorerSet,
    parse_scorer_spec,
    spec_to_dict,
)


def specs(*raws: Any) -> list[ScorerSpec]:
    return [parse_scorer_spec(r) for r in raws]


async def score(
    scorer_set: ScorerSet, output: str | None, case: Case, variables: dict[str, Any] | None = None
) -> tuple[list[Any], float | None, bool]:
    return await scorer_set.score(ScoreContext(output=output, case=case), variables or {})


class Fraction(Scorer):
    """Scores the fraction of vowels; leaves ``passed`` to the threshold."""

    default_threshold: ClassVar[float] = 0.5

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        text = ctx.output or ""
        return ScoreOutcome(score=sum(c in "aeiou" for c in text) / max(len(text), 1))


class Boom(Scorer):
    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        raise RuntimeError("scorer exploded")


class SlowJudge(Scorer):
    kind: ClassVar[ScorerKind] = ScorerKind.llm_judge

    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        await asyncio.sleep(0)
        return ScoreOutcome(score=0.8, label="good", rationale="judge says good")


class AsyncBoom(Scorer):
    async def score(self, ctx: ScoreContext) -> ScoreOutcome:
        raise TimeoutError("judge timed out")


@pytest.fixture(autouse=True)
def _test_scorers() -> Iterator[None]:
    extra = {"fraction": Fraction, "boom": Boom, "slow-judge": SlowJudge, "async-boom": AsyncBoom}
    for name, cls in extra.items():
        SCORERS.register(name, cls)
    yield
    for name in extra:
        SCORERS.unregister(name)


CASE = Case(id="q1", expected="Paris", vars={"city": "Paris", "other": "Lyon"})


async def test_default_is_non_empty() -> None:
    scorer_set = ScorerSet.build([])
    assert [s.type for s in scorer_set.specs] == ["non-empty"]
    records, value, passed = await score(scorer_set, "hi", CASE)
    assert (records[0].name, records[0].kind, value, passed) == (
        "non-empty",
        ScorerKind.heuristic,
        1.0,
        True,
    )
    assert (await score(scorer_set, "  ", CASE))[1:] == (0.0, False)


async def test_weighted_mean_and_all_must_pass() -> None:
    scorer_set = ScorerSet.build(
        specs({"contains": "Paris", "weight": 3}, {"type": "contains", "value": "Rome"})
    )
    records, value, passed = await score(scorer_set, "Paris", CASE)
    assert [r.score for r in records] == [1.0, 0.0]
    assert value == pytest.approx(0.75)
    assert passed is False
    assert [r.weight for r in records] == [3.0, 1.0]


async def test_zero_weights_give_no_score() -> None:
    scorer_set = ScorerSet.build(specs({"type": "contains", "value": "P", "weight": 0}))
    assert (await score(scorer_set, "P", CASE))[1:] == (None, True)


async def test_threshold_decides_scores_without_verdict() -> None:
    # 'aeiou' fraction of "abcd" is 0.25: below the default 0.5, above a 0.2 threshold.
    default, lowered = (
        ScorerSet.build(specs("fraction")),
        ScorerSet.build(specs({"type": "fraction", "threshold": 0.2})),
    )
    records, value, passed = await score(default, "abcd", CASE)
    assert (value, passed, records[0].threshold) == (0.25, False, 0.5)
    records, value, passed = await score(lowered, "abcd", CASE)
    assert (value, passed, records[0].threshold) == (0.25, True, 0.2)


async def test_spec_threshold_overrides_a_scorers_verdict() -> None:
    scorer_set = ScorerSet.build(specs({"type": "contains", "value": "x", "threshold": 0}))
    records, _, passed = await score(scorer_set, "no", CASE)
    assert (records[0].score, records[0].passed, passed) == (0.0, True, True)


async def test_negation_flips_score_and_verdict() -> None:
    scorer_set = ScorerSet.build(specs({"not-contains": "Lyon"}, {"not-fraction": None}))
    records, _, _ = await score(scorer_set, "Paris", CASE)
    assert (records[0].score, records[0].passed, records[0].type) == (1.0, True, "not-contains")
    # fraction("Paris") = 0.4 < 0.5 fails, so its negation (score 0.6) passes.
    assert (records[1].score, records[1].passed) == (pytest.approx(0.6), True)
    records, _, _ = await score(scorer_set, "Lyon", CASE)
    assert (records[0].score, records[0].passed) == (0.0, False)


async def test_negation_with_a_threshold_judges_the_negated_score() -> None:
    scorer_set = ScorerSet.build(specs({"type": "not-fraction", "threshold": 0.7}))
    records, _, passed = await score(scorer_set, "Paris", CASE)  # 1 - 0.4 = 0.6 < 0.7
    assert (records[0].score, passed, records[0].threshold) == (pytest.approx(0.6), False, 0.7)


async def test_template_values_render_per_case() -> None:
    scorer_set = ScorerSet.build(
        specs(
            {"contains": "{{ expected }}"},
            {"equals": "{{ city | upper }}", "case_sensitive": False},
            {"not-contains": ["{{ other }}", "Rome"]},
            {"regex": "^{{ city }}$"},
        )
    )
    records, value, passed = await score(scorer_set, "Paris", CASE, dict(CASE.vars))
    assert [r.passed for r in records] == [True, True, True, True]
    assert (value, passed) == (1.0, True)
    # The stored spec keeps the template, not the rendered value.
    assert records[0].spec["value"] == "{{ expected }}"


async def test_undefined_template_variable_is_an_error_record() -> None:
    scorer_set = ScorerSet.build(specs({"contains": "{{ nope }}"}))
    records, value, passed = await score(scorer_set, "Paris", CASE)
    assert records[0].error is not None
    assert "'nope' is undefined" in records[0].error
    assert (records[0].score, records[0].passed, value, passed) == (None, False, None, False)


async def test_a_raising_scorer_is_recorded_not_zero() -> None:
    scorer_set = ScorerSet.build(specs("boom", {"contains": "Paris"}, "async-boom"))
    records, value, passed = await score(scorer_set, "Paris", CASE)
    assert records[0].error == "RuntimeError: scorer exploded"
    assert records[2].error == "TimeoutError: judge timed out"
    for record in (records[0], records[2]):
        assert (record.score, record.passed) == (None, False)
    assert (value, passed) == (1.0, False)  # the mean is over the scores that exist


async def test_async_scorers_are_awaited_in_order() -> None:
    scorer_set = ScorerSet.build(specs("slow-judge", {"contains": "Paris"}, "slow-judge"))
    records, value, passed = await score(scorer_set, "Paris", CASE)
    assert [r.type for r in records] == ["slow-judge", "contains", "slow-judge"]
    assert records[0].kind is ScorerKind.llm_judge
    assert (records[0].label, records[0].evidence.rationale) == ("good", "judge says good")
    assert records[0].passed is False  # 0.8 < default threshold 1.0
    assert value == pytest.approx((0.8 + 1 + 0.8) / 3)
    assert passed is False


async def test_record_fields_and_stable_ids() -> None:
    raw = {"type": "contains", "value": "Paris", "name": "mentions-paris", "weight": 2}
    scorer_set = ScorerSet.build(specs(raw, raw, raw, "equals"))
    records, _, _ = await score(scorer_set, "Paris", CASE)
    canonical = spec_to_dict(parse_scorer_spec(raw))
    base = content_hash("scorer-spec", canonical)[:12]
    assert [r.scorer_id for r in records[:3]] == [base, f"{base}-2", f"{base}-3"]
    assert records[3].scorer_id != base
    first = records[0]
    assert (first.name, first.type, first.kind, first.weight) == (
        "mentions-paris",
        "contains",
        ScorerKind.heuristic,
        2.0,
    )
    assert (first.threshold, first.higher_is_better, first.spec) == (1.0, True, canonical)
    assert first.evidence.rationale == "found 'Paris'"
    # The same spec in another set gets the same id.
    again = ScorerSet.build(specs(raw))
    assert again.scorer_ids == [base]


async def test_case_scorers_are_added_to_the_suites() -> None:
    suite_set = ScorerSet.build(specs({"contains": "Paris"}))
    own = Case(id="q2", expected="Paris", scorers=specs({"not-contains": "Lyon"}))
    plain = Case(id="q3", expected="Paris")
    assert suite_set.for_case(plain) is suite_set
    derived = suite_set.for_case(own)
    assert [s.type for s in derived.specs] == ["contains", "not-contains"]
    assert suite_set.for_case(own) is derived  # cached
    assert derived.scorers[0] is suite_set.scorers[0]  # built once
    assert derived.for_case(plain) is suite_set
    records, _, passed = await score(derived, "Paris in Lyon", own)
    assert [r.type for r in records] == ["contains", "not-contains"]
    assert passed is False
    # score() judges by exactly its own scorers (render assertions stay render assertions).
    records, _, passed = await score(suite_set, "Paris in Lyon", own)
    assert ([r.type for r in records], passed) == (["contains"], True)


async def test_case_scorers_replace_the_default() -> None:
    own = Case(id="q2", scorers=specs({"contains": "x"}))
    assert [s.type for s in ScorerSet.build([]).for_case(own).specs] == ["contains"]


def test_check_case_covers_case_scorers() -> None:
    suite_set = ScorerSet.build(specs({"contains": "x"}))
    suite_set.check_case(Case(id="fine"))
    with pytest.raises(ValueError, match="case 'needs' has no expected value"):
        suite_set.check_case(Case(id="needs", scorers=specs("numeric")))


def test_build_reports_unknown_and_bad_specs() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'contains'"):
        ScorerSet.build(specs({"contans": "x"}))
    with pytest.raises(ValueError, match="invalid regular expression"):
        ScorerSet.build(specs({"regex": "["}))


async def test_empty_and_unicode_outputs() -> None:
    scorer_set = ScorerSet.build(specs({"icontains": "ÉTÉ"}, "non-empty"))
    records, value, passed = await score(scorer_set, "un été chaud", CASE)
    assert (value, passed) == (1.0, True)
    records, value, passed = await score(scorer_set, "", CASE)
    assert [r.passed for r in records] == [False, False]
    assert (value, passed) == (0.0, False)


@pytest.mark.parametrize("value", ["Paris", 42, 2.5, None, ["a", 1], {"k": "v"}, True])
def test_simple_variable_renders_like_jinja(value: Any) -> None:
    from evalbook.core.templating import render_string
    from evalbook.scorers.scorer_set import _render_one

    variables = {"x": value}
    for source in ("{{ x }}", "{{x}}", "{{  x  }}"):
        assert _render_one(source, variables, "c") == render_string(source, variables)


def test_context_copy_matches_dataclasses_replace() -> None:
    import dataclasses

    from evalbook.scorers.scorer_set import _derive

    base = ScoreContext(output="o", case=CASE, prompt="p", latency_ms=3.0, error="e")
    assert _derive(base, "value", ["v"]) == dataclasses.replace(base, value=["v"])
    assert _derive(base, "output", "x") == dataclasses.replace(base, output="x")
    assert base.value is None and base.output == "o"


class PluginEvidence(Scorer):
    """A plugin whose evidence is not of the record's types: it must still be validated."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=1.0, evidence={"retrieved_context": ("a", "b")})


async def test_unvalidated_records_equal_validated_ones() -> None:
    from evalbook.core.result import ScoreRecord

    raw = {"type": "contains", "value": "{{ city }}", "weight": 2, "threshold": 1}
    scorer_set = ScorerSet.build(
        specs(raw, "equals", "fraction", "slow-judge", {"regex": "P(ar)is", "extract": "last-line"})
    )
    records, _, _ = await score(scorer_set, "Paris", CASE, {"city": "Paris"})
    for record in records:
        again = ScoreRecord.model_validate(record.model_dump())
        assert again == record
        assert record.model_dump_json() == again.model_dump_json()
        assert type(record.kind) is ScorerKind and type(record.threshold) is float
    # A record is shared only by results with the same outcome: another has its own.
    again, _, _ = await score(scorer_set, "Lyon", CASE, {"city": "Paris"})
    assert records[0].evidence is not again[0].evidence


async def test_plugin_evidence_is_validated() -> None:
    SCORERS.register("plugin-evidence", PluginEvidence)
    try:
        scorer_set = ScorerSet.build(specs("plugin-evidence"))
        records, _, _ = await score(scorer_set, "x", CASE)
    finally:
        SCORERS.unregister("plugin-evidence")
    assert records[0].evidence.retrieved_context == ["a", "b"]  # a tuple made a list


async def test_a_set_that_needs_no_await_is_scored_at_once() -> None:
    """``score_now`` gives a set of synchronous scorers' result itself (no coroutine per
    result), a set with a judge an awaitable; both what ``score`` gives."""
    at_once = ScorerSet.build(specs({"contains": "Par"}, "equals", "fraction"))
    ctx = ScoreContext(output="Paris", case=CASE)
    scored = at_once.score_now(ctx)
    assert isinstance(scored, tuple)
    assert scored == await at_once.score(ctx)
    assert scored[1:] == (pytest.approx((1 + 1 + 0.4) / 3), False)  # 0.4 < 0.5

    later = ScorerSet.build(specs({"contains": "Par"}, "slow-judge"))
    pending = later.score_now(ctx)
    assert not isinstance(pending, tuple)
    records, value, passed = await pending
    assert [r.type for r in records] == ["contains", "slow-judge"]
    assert (records[1].label, value, passed) == ("good", pytest.approx(0.9), False)


async def test_templates_see_the_cases_variables_unless_told_others() -> None:
    scorer_set = ScorerSet.build(specs({"contains": "{{ city }}"}, {"equals": "{{ expected }}"}))
    ctx = ScoreContext(output="Paris", case=CASE)
    records, _, passed = await scorer_set.score(ctx)  # the case's own: city, expected
    assert passed and [r.passed for r in records] == [True, True]
    records, _, passed = await scorer_set.score(ctx, {"city": "Lyon", "expected": "Lyon"})
    assert not passed and [r.passed for r in records] == [False, False]
    # A set without templates never needs them.
    plain = ScorerSet.build(specs({"contains": "Par"}))
    assert plain.score_now(ScoreContext(output="Paris", case=CASE))[2] is True


class IntScore(Scorer):
    """A plugin's plain outcome with an int score and no rationale."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=1 if ctx.output else 0, passed=bool(ctx.output))


class NotFinite(Scorer):
    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=float("nan"), passed=True, rationale="?")


async def test_plain_outcomes_are_recorded_as_validation_would() -> None:
    from evalbook.core.result import ScoreRecord

    SCORERS.register("int-score", IntScore)
    SCORERS.register("nan-score", NotFinite)
    try:
        scorer_set = ScorerSet.build(specs("int-score", "nan-score", {"contains": "x"}))
        for output in ("Paris", ""):
            records, _, _ = await score(scorer_set, output, CASE)
            for record in records:
                assert ScoreRecord.model_validate(record.model_dump()) == record
                assert record.score is None or type(record.score) is float
            assert records[0].score == (1.0 if output else 0.0)
            assert records[1].error == "ValueError: scorer returned a non-finite score (nan)"
            assert (records[1].score, records[1].passed) == (None, False)
            assert records[2].evidence.rationale == "missing 'x'"
    finally:
        SCORERS.unregister("int-score")
        SCORERS.unregister("nan-score")


class SignedZero(Scorer):
    """A plugin's plain outcome: 0.0 or -0.0 by the output, with the same rationale."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=-0.0 if ctx.output == "neg" else 0.0, rationale="zero")


class Echo(Scorer):
    """An outcome of its own for each output."""

    def score(self, ctx: ScoreContext) -> ScoreOutcome:
        return ScoreOutcome(score=1.0, passed=True, rationale=f"saw {ctx.output}")


async def test_repeated_outcomes_share_one_record() -> None:
    """A scorer's outcome seen before is recorded by the record made for it then (a cached
    re-run scores the same few outcomes 100,000 times); any other outcome gets its own."""
    from evalbook.core.result import ScoreRecord
    from evalbook.scorers import scorer_set as module

    scorer_set = ScorerSet.build(specs({"contains": "ar"}, "equals"))
    paris, _, _ = await score(scorer_set, "Paris", CASE)
    again, _, _ = await score(scorer_set, "Paris", Case(id="q2", expected="Paris"))
    assert [a is b for a, b in zip(paris, again, strict=True)] == [True, True]
    lyon, _, _ = await score(scorer_set, "Lyon", CASE)
    assert [r.passed for r in lyon] == [False, False]
    assert not any(a is b for a, b in zip(paris, lyon, strict=True))
    assert lyon[1].evidence.rationale == "expected 'Paris', got 'Lyon'"
    for record in (*paris, *lyon):
        assert ScoreRecord.model_validate(record.model_dump()) == record

    SCORERS.register("signed-zero", SignedZero)
    SCORERS.register("echo", Echo)
    try:
        zeros = ScorerSet.build(specs("signed-zero"))
        signs = []
        for output in ("pos", "neg", "pos", "neg"):
            records, _, _ = await score(zeros, output, CASE)
            signs.append(str(records[0].score))
        assert signs == ["0.0", "-0.0", "0.0", "-0.0"]  # -0.0 == 0.0 as a key: never mixed

        echo = ScorerSet.build(specs("echo"))
        outputs = [f"o{i}" for i in range(module._RECENT + 10)]
        for output in outputs:
            records, _, _ = await score(echo, output, CASE)
            assert records[0].evidence.rationale == f"saw {output}"
        assert 0 < len(echo._entries[0].recent) <= module._RECENT  # bounded
    finally:
        SCORERS.unregister("signed-zero")
        SCORERS.unregister("echo")
