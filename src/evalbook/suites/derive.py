"""New versions of a registered suite, made in the web workspace: its cases replaced by an
uploaded dataset, or an LLM judge added to its scorers.

Why derived versions rather than edits: a suite version is immutable (its hash is what a
run records), so what the launch sheet changes becomes a version of its own, named so a
reader sees where it came from (``data-…`` for a dataset, ``<version>+judge-…`` for a
judge). Both are content-addressed: the same upload or the same judge gives the same
version again.

Every problem is one :class:`~evalbook.errors.SuiteError` naming the place: the dataset's
``file:line`` (and the case), or the judge's field (``judge.model``, ``judge.rubric``,
``judge.criteria``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from evalbook.core.heap import collector_paused
from evalbook.core.identity import short_hash
from evalbook.core.suite import Suite, case_json
from evalbook.errors import SuiteError
from evalbook.suites.cases import CaseSource, build_cases
from evalbook.suites.datasets import DATASET_SUFFIXES, parse_dataset
from evalbook.suites.problems import Problems, Where, not_unicode
from evalbook.suites.scorer_specs import ScorerBuilder, parse_specs

__all__ = ["JUDGED", "MAX_DATASET_CASES", "suite_with_dataset", "suite_with_judge"]

#: What a judged version's name carries (``<version>+judge-<hash>``): such a version is
#: never a suite's "latest" (a run asking for the latest gets no judge it did not ask for).
JUDGED = "+judge-"

#: The most cases one uploaded dataset may hold.
MAX_DATASET_CASES = 100_000
#: Row keys an upload may not carry: scorers and files belong to the suite, which the
#: server's policy has checked; a row must not bring its own past that check.
_REFUSED_KEYS = ("scorers", "assets")


def suite_with_dataset(
    base: Suite, text: str, filename: str, *, version: str | None = None
) -> Suite:
    """``base`` with the cases of a JSONL or CSV dataset (``filename`` says which, by its
    suffix): same prompt, scorers and threshold; version ``version`` or ``data-<hash>``.

    Without the cyclic collector meanwhile (see ``core.heap.collector_paused``): its
    passes over the rows and cases, all alive until the suite is made, were a third to
    two fifths of making one of 100,000 cases."""
    with collector_paused():
        return _with_dataset(base, text, filename, version)


def _with_dataset(base: Suite, text: str, filename: str, version: str | None) -> Suite:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in DATASET_SUFFIXES:
        raise SuiteError(
            f"{filename}: a dataset is a {', '.join(DATASET_SUFFIXES)} file, not"
            f" {suffix or 'a file without a suffix'!r}"
        )
    problems = Problems(filename)
    rows = parse_dataset(text, suffix, filename, problems)
    if len(rows) > MAX_DATASET_CASES:
        raise SuiteError(f"{filename}: {len(rows):,} cases; at most {MAX_DATASET_CASES:,}")
    sources = []
    for row in rows:
        refused = [k for k in _REFUSED_KEYS if k in row.data]
        if refused:
            problems.add(
                row.where,
                f"{', '.join(refused)}: not accepted in an uploaded dataset (the suite's"
                " scorers apply to every case)",
            )
            continue
        sources.append(CaseSource(row.data, row.where, None))
    built = build_cases(iter(sources), problems)
    if not rows and not problems:
        problems.add(Where(filename, line=1), "the dataset has no rows")
    builder = ScorerBuilder(problems)
    shared = builder.build(base.scorers, Where(filename), ("scorers",))
    for one in built:
        builder.check(one.case, shared, one.where)
        try:
            case_json(one.case).encode()
        except UnicodeEncodeError as exc:
            problems.add(one.where, not_unicode(exc))
    problems.raise_if_any()
    cases = [one.case for one in built]
    body = [case.model_dump(mode="json") for case in cases]
    return base.model_copy(
        update={
            "version": version or f"data-{short_hash('dataset', body, 10)}",
            "cases": cases,
            "source": filename,
        }
    )


def suite_with_judge(
    base: Suite,
    judge: dict[str, Any],
    *,
    rubric: str | None = None,
    criteria: Sequence[str] | None = None,
) -> Suite:
    """``base`` with one more scorer: ``llm-judge`` grading every output with the judge
    model ``judge`` (a model config's fields) on ``rubric`` (one criterion) or the built-in
    ``criteria``; version ``<base version>+judge-<hash>``."""
    rubric = (rubric or "").strip() or None
    if (rubric is None) == (not criteria):
        raise SuiteError("judge.rubric: give a rubric or pick criteria (one of the two)")
    raw: dict[str, Any] = {"type": "llm-judge", "judge": judge}
    if rubric is not None:
        raw["value"] = rubric
    else:
        raw["criteria"] = list(criteria or ())
    problems = Problems("judge")
    specs, _ = parse_specs([raw], Where("judge"), ("judge",), problems)
    ScorerBuilder(problems).build(specs, Where("judge"), ("judge",))
    problems.raise_if_any()
    scorers = [*base.scorers, *specs]
    tag = short_hash("judge", [s.model_dump(mode="json") for s in specs], 8)
    version = f"{base.version[:80]}{JUDGED}{tag}"
    return base.model_copy(update={"version": version, "scorers": scorers})
