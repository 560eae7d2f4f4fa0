"""A small finished run to review: four cases answered by the mock ``echo`` model, each scored
by ``contains`` (always passes), a ``human`` scorer of ``helpfulness`` on a 1–5 scale, and a
stand-in ``llm_judge`` whose normalised score is written in the prompt (so it is known).

The stand-in judge is registered only while the run executes (the registry is global and
other tests list every registered scorer).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import evalbook
from evalbook.core.run import RunRecord
from evalbook.scorers import SCORERS
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

#: The stand-in judge's normalised score of case ``c{i}``.
JUDGE = (1.0, 0.75, 0.25, 0.0)
HUMAN = {"human": {"criterion": "helpfulness", "scale": [1, 5]}}


def fake_judge(ctx: evalbook.ScoreContext) -> evalbook.ScoreOutcome:
    match = re.search(r"judge=([0-9.]+)", ctx.output or "")
    score = float(match.group(1)) if match else 0.0
    return evalbook.ScoreOutcome(
        score=score, evidence={"details": {"criterion": "helpfulness", "raw": score}}
    )


@contextmanager
def judge_registered() -> Iterator[None]:
    evalbook.scorer(name="fake-judge", kind=evalbook.ScorerKind.llm_judge, threshold=0.5)(
        fake_judge
    )
    try:
        yield
    finally:
        SCORERS.unregister("fake-judge")


async def reviewed_run(
    store: Store,
    *,
    scorers: Sequence[Any] = ({"contains": "answer"}, HUMAN, "fake-judge"),
    epochs: int = 1,
    derived_metrics: Sequence[dict[str, str]] = (),
) -> RunRecord:
    with judge_registered():
        suite = load_suite_from_dict(
            {
                "id": "reviews",
                "name": "Reviews",
                "threshold": 0.5,
                "model": "mock:echo",
                "prompt": "answer {{ i }} judge={{ j }}",
                "scorers": list(scorers),
                "cases": [{"id": f"c{i}", "vars": {"i": i, "j": j}} for i, j in enumerate(JUDGE)],
                **({"derived_metrics": list(derived_metrics)} if derived_metrics else {}),
            }
        )
        return await evalbook.arun(suite, store=store, epochs=epochs)
