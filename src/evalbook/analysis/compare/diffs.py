"""Word-level diffs: what exactly changed between two outputs, or two rendered prompts.

Why words and not characters or lines: model outputs are prose; a character diff is
noise and a line diff marks the whole paragraph. Tokens are words, runs of whitespace
and single punctuation marks, so joining the pieces gives back both texts exactly.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError
from evalbook.storage.store import Store

__all__ = ["CaseDiff", "DiffOp", "case_diff", "case_diffs", "diff_rows", "tokenize", "word_diff"]

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

Op = Literal["equal", "delete", "insert"]


@dataclass(frozen=True)
class DiffOp:
    """A piece of the diff: text kept, removed (only in ``a``) or added (only in ``b``)."""

    op: Op
    text: str


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text)


#: Token pairs one matching pass may compare. ``difflib`` is quadratic or worse on long,
#: repetitive texts (a hostile 1 MB answer, a run of blank-separated words), so a diff
#: over the budget compares coarser pieces — words with their spaces, then lines — and a
#: middle still over it is shown as one replacement: never exact-but-hung.
MAX_PAIRS = 250_000
_UNIT = re.compile(r"\w+\s*|[^\w\s]\s*|\s+", re.UNICODE)


def word_diff(a: str | None, b: str | None) -> list[DiffOp]:
    """The edit from ``a`` to ``b`` as equal/delete/insert pieces; ``"".join`` of the
    equal+delete pieces is ``a``, of the equal+insert pieces is ``b``. Words and marks
    are the unit; long, very different texts fall back to lines (see :data:`MAX_PAIRS`)."""
    ta, tb = tokenize(a or ""), tokenize(b or "")
    ops: list[DiffOp] = []
    head = 0
    while head < min(len(ta), len(tb)) and ta[head] == tb[head]:
        head += 1
    tail = 0
    while tail < min(len(ta), len(tb)) - head and ta[-1 - tail] == tb[-1 - tail]:
        tail += 1
    _add(ops, "equal", "".join(ta[:head]))
    _diff(ops, "".join(ta[head : len(ta) - tail]), "".join(tb[head : len(tb) - tail]), len(_LEVELS))
    _add(ops, "equal", "".join(ta[len(ta) - tail :]))
    return ops


_LEVELS = (tokenize, _UNIT.findall, lambda text: text.splitlines(keepends=True))


def _diff(ops: list[DiffOp], a: str, b: str, levels: int) -> None:
    """Diff ``a`` and ``b`` split into tokens, or into the first of the ``levels``
    coarser pieces (words with their spaces, lines) few enough to compare."""
    if not a or not b:
        _add(ops, "delete", a)
        _add(ops, "insert", b)
        return
    level = 0
    while level < levels:
        ta, tb = _LEVELS[level](a), _LEVELS[level](b)
        if len(ta) * len(tb) <= MAX_PAIRS:
            break
        level += 1
    else:
        _add(ops, "delete", a)
        _add(ops, "insert", b)
        return
    matcher = difflib.SequenceMatcher(a=ta, b=tb, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _add(ops, "equal", "".join(ta[i1:i2]))
        elif tag == "replace" and level > 0:  # finer inside the hunk
            _diff(ops, "".join(ta[i1:i2]), "".join(tb[j1:j2]), level)
        else:
            _add(ops, "delete", "".join(ta[i1:i2]))
            _add(ops, "insert", "".join(tb[j1:j2]))


def _add(ops: list[DiffOp], op: Op, text: str) -> None:
    if not text:
        return
    if ops and ops[-1].op == op:
        ops[-1] = DiffOp(op, ops[-1].text + text)
    else:
        ops.append(DiffOp(op, text))


@dataclass(frozen=True)
class CaseDiff:
    """One case in two runs: statuses, scores, and word diffs of output and prompt."""

    case_id: str
    epoch: int
    baseline_status: str | None
    candidate_status: str | None
    baseline_score: float | None
    candidate_score: float | None
    output: list[DiffOp]
    prompt: list[DiffOp] | None  # only when the runs' prompt versions or renderings differ


def case_diff(
    store: Store, baseline: RunRecord, candidate: RunRecord, case_id: str, epoch: int = 0
) -> CaseDiff:
    """The diff of one case between two runs (one indexed lookup per run)."""
    [diff] = case_diffs(store, baseline, candidate, [(case_id, epoch)])
    if diff.baseline_status is None and diff.candidate_status is None:
        raise NotFoundError(f"neither run has case {case_id!r} (epoch {epoch})")
    return diff


def case_diffs(
    store: Store, baseline: RunRecord, candidate: RunRecord, keys: list[tuple[str, int]]
) -> list[CaseDiff]:
    """Diffs of a few cases (e.g. the top flips), each run's texts read in one query."""
    texts_a = store.case_texts(baseline.id, keys)
    texts_b = store.case_texts(candidate.id, keys)
    prompts_differ = baseline.prompt_hash != candidate.prompt_hash
    return [
        diff_rows(key, texts_a.get(key), texts_b.get(key), prompts_differ=prompts_differ)
        for key in keys
    ]


def diff_rows(
    key: tuple[str, int],
    a: dict[str, object] | None,
    b: dict[str, object] | None,
    *,
    prompts_differ: bool,
) -> CaseDiff:
    """The diff of one case from its two ``Store.case_texts`` rows (``None``: absent).

    The prompt diff is shown when the prompt versions differ, or when the rendered
    prompts do (a changed case variable or system prompt)."""
    pa, pb = _text(a, "prompt"), _text(b, "prompt")
    show_prompt = prompts_differ or (pa is not None and pb is not None and pa != pb)
    return CaseDiff(
        case_id=key[0],
        epoch=key[1],
        baseline_status=_text(a, "status"),
        candidate_status=_text(b, "status"),
        baseline_score=_num(a),
        candidate_score=_num(b),
        output=word_diff(_shown(a), _shown(b)),
        prompt=word_diff(pa, pb) if show_prompt else None,
    )


def _text(row: dict[str, object] | None, field: str) -> str | None:
    value = None if row is None else row.get(field)
    return None if value is None else str(value)


def _shown(row: dict[str, object] | None) -> str | None:
    """The output, or the error when the case errored (an empty diff would hide it)."""
    if row is None:
        return None
    output = _text(row, "output")
    return output if output is not None else _text(row, "error_message")


def _num(row: dict[str, object] | None) -> float | None:
    value = None if row is None else row.get("score")
    return float(value) if isinstance(value, int | float) else None
