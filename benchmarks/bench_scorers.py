"""Scoring throughput of the deterministic scorers: µs per case per scorer.

    python benchmarks/bench_scorers.py              # 100,000 results, every scorer
    python benchmarks/bench_scorers.py --n 10000    # fewer results
    python benchmarks/bench_scorers.py --only bleu,chrf

Each scorer gets its own ScorerSet; the loop is what the executor does per result:
``await scorer_set.score(ctx, variables)``, including building the ScoreRecord. The
results are 100,000 ScoreContext objects with varied outputs (prose, JSON, SQL, HTML,
XML, refusals; 40–400 characters), built before the clock starts. The target is
≤ 200 µs per case for the cheap scorers (all but the n-gram metrics, which are
reported for information); the last line times every cheap scorer together.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScorerSet, parse_scorer_spec

TARGET_US = 200.0
CHEAP: list[tuple[str, Any]] = [
    ("equals (baseline)", {"equals": "{{ expected }}"}),
    ("starts-with", {"starts-with": {"value": "the", "case_sensitive": False}}),
    ("length", {"length": {"min": 5, "max": 60, "unit": "words"}}),
    ("levenshtein", "levenshtein"),
    ("fuzzy", {"fuzzy": {"method": "token-set-ratio"}}),
    ("is-refusal", "is-refusal"),
    ("contains-json", "contains-json"),
    ("json-path", {"json-path": {"path": "$.answer.city", "value": "Paris"}}),
    ("latency", {"latency": 2000}),
    ("cost", {"cost": 0.01}),
    ("is-sql", "is-sql"),
    ("is-html", "is-html"),
    ("is-xml", "is-xml"),
    ("exact-match", "exact-match"),
    ("token-f1", "token-f1"),
    (
        "extract regex+strip → equals",
        {"equals": "Paris", "extract": [{"regex": "is (.*)"}, "strip"]},
    ),
    ("extract last-number → numeric", {"numeric": 42, "extract": "last-number"}),
]
NGRAM: list[tuple[str, Any]] = [
    ("bleu", "bleu"),
    ("chrf", "chrf"),
    ("rouge-1", "rouge-1"),
    ("rouge-2", "rouge-2"),
    ("rouge-l", {"rouge-l": {"stemmer": True}}),
]

SENTENCE = (
    "the capital of france is paris and it lies on the seine river which flows through "
    "the city from east to west while many bridges cross it near the old island"
)
WORDS = SENTENCE.split()


def output_for(i: int, rng: random.Random) -> str:
    kind = i % 8
    prose = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 60)))
    if kind == 0:
        return f'Here you go: {{"answer": {{"city": "Paris", "n": {i}}}}} done'
    if kind == 1:
        return f"SELECT name, count(*) FROM users WHERE id > {i} GROUP BY name;"
    if kind == 2:
        return f"<div><p>{prose}</p><ul><li>{i}<li>two</ul></div>"
    if kind == 3:
        return f"<root><item id='{i}'>{prose}</item></root>"
    if kind == 4:
        return "I'm sorry, but I can't help with that request."
    if kind == 5:
        return f"The answer is Paris. {prose}. Total: {i % 97}"
    return prose


def contexts(n: int) -> list[ScoreContext]:
    rng = random.Random(7)
    cases = [Case(id=f"c{i}", expected=" ".join(rng.sample(WORDS, 6))) for i in range(1000)]
    return [
        ScoreContext(
            output=output_for(i, rng),
            case=cases[i % len(cases)],
            latency_ms=rng.uniform(100, 3000),
            cost_usd=rng.uniform(0, 0.02),
        )
        for i in range(n)
    ]


async def time_set(specs: list[Any], ctxs: list[ScoreContext]) -> float:
    """µs per case for one ScorerSet of ``specs`` over ``ctxs``."""
    scorer_set = ScorerSet.build([parse_scorer_spec(s) for s in specs])
    await scorer_set.score(ctxs[0], {})  # warm caches and lazy imports
    variables: dict[str, Any] = {}
    start = time.perf_counter()
    for ctx in ctxs:
        await scorer_set.score(ctx, variables)
    return (time.perf_counter() - start) / len(ctxs) * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="results to score")
    parser.add_argument("--only", default="", help="comma-separated scorer labels")
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    ctxs = contexts(args.n)
    print(f"{args.n:,} results; µs per case per scorer (target ≤ {TARGET_US:.0f} for cheap ones)")
    print(f"{'scorer':<32} {'µs/case':>9} {'cases/s':>10}")
    worst = 0.0
    for group, label_suffix in ((CHEAP, ""), (NGRAM, "  (n-gram, info)")):
        for label, spec in group:
            if only and label not in only:
                continue
            us = await time_set([spec], ctxs)
            mark = ("ok" if us <= TARGET_US else "OVER") if group is CHEAP else ""
            if group is CHEAP:
                worst = max(worst, us)
            print(f"{label:<32} {us:>9.1f} {1e6 / us:>10,.0f}  {mark}{label_suffix}")
    if not only:
        together = await time_set([spec for _, spec in CHEAP], ctxs)
        print(f"{'all cheap scorers together':<32} {together:>9.1f} {1e6 / together:>10,.0f}")
        print(f"slowest cheap scorer: {worst:.1f} µs/case")


if __name__ == "__main__":
    asyncio.run(main())
