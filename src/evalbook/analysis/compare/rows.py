"""The per-case rows of a comparison, one page at a time, each with the word diff of its
two outputs (and of its rendered prompts when they differ): what the comparison page and
``GET /api/compare/cases`` show.

Five views (``show``): ``flips`` (newly failing first, then newly passing), ``regressions``,
``fixes`` — the comparison's flip lists, sorted by Δ, case or section and paged by offset
(they are already in memory) — and ``different`` (outputs differ) or ``all`` — every paired
case, joined in SQL and paged by key (``storage/paired_rows.py``). Diffs are computed for
the rows of the page only, on texts clipped to :data:`DIFF_CLIP` characters a side.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Literal

from evalbook.analysis.compare.comparison import Comparison, Flip
from evalbook.analysis.compare.diffs import CaseDiff, diff_rows
from evalbook.analysis.compare.flips import SortKey, sort_flips
from evalbook.core.run import RunRecord
from evalbook.errors import UserError
from evalbook.storage.paired_rows import paired_rows
from evalbook.storage.store import Store

__all__ = ["DIFF_CLIP", "SHOWS", "CompareRow", "RowsPage", "Show", "compare_rows", "one_case"]

Show = Literal["flips", "regressions", "fixes", "different", "all"]
SHOWS: tuple[Show, ...] = ("flips", "regressions", "fixes", "different", "all")
#: Characters of each output (and prompt) a row's diff compares; the rest is in the run.
DIFF_CLIP = 20_000


@dataclass(frozen=True)
class CompareRow:
    """One case in both runs: the verdicts, Δ score, and the diff of what changed."""

    case_id: str
    epoch: int
    section: str | None
    kind: Literal["regression", "fix", "same"]
    baseline_status: str | None
    candidate_status: str | None
    baseline_score: float | None
    candidate_score: float | None
    delta: float | None
    diff: CaseDiff
    clipped: bool


@dataclass(frozen=True)
class RowsPage:
    """A page of rows, how many rows the view holds (``None``: not counted, the SQL
    views), and the cursor of the next page (``None``: last page)."""

    show: Show
    sort: SortKey
    rows: list[CompareRow]
    total: int | None
    next_cursor: str | None


def _encode(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode(cursor: str) -> object:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        return json.loads(raw)
    except (ValueError, binascii.Error) as exc:
        raise UserError(f"cursor {cursor[:40]!r} is not one this page gave") from exc


@dataclass
class _FlipViews:
    """What every page of one comparison reuses: its flips' keys and sorted orders
    (thousands of flips in a 100,000-case comparison take tens of ms to sort)."""

    comparison: Comparison  # held, so its id is not reused while this is kept
    regressions: set[tuple[str, int]]
    fixes: set[tuple[str, int]]
    orders: dict[tuple[Show, SortKey], list[Flip]] = field(default_factory=dict)


_VIEWS: OrderedDict[int, _FlipViews] = OrderedDict()
_VIEWS_LOCK = threading.Lock()


def _views(comparison: Comparison) -> _FlipViews:
    with _VIEWS_LOCK:
        found = _VIEWS.get(id(comparison))
        if found is not None and found.comparison is comparison:
            _VIEWS.move_to_end(id(comparison))
            return found
    views = _FlipViews(
        comparison,
        {(f.case_id, f.epoch) for f in comparison.regressions},
        {(f.case_id, f.epoch) for f in comparison.fixes},
    )
    with _VIEWS_LOCK:
        _VIEWS[id(comparison)] = views
        while len(_VIEWS) > 16:
            _VIEWS.popitem(last=False)
    return views


def _flips(views: _FlipViews, show: Show, sort: SortKey) -> list[Flip]:
    found = views.orders.get((show, sort))
    if found is not None:
        return found
    comparison = views.comparison
    regressions = sort_flips(comparison.regressions, sort)
    fixes = sort_flips(comparison.fixes, sort, reverse=sort == "delta")
    chosen = regressions if show == "regressions" else fixes if show == "fixes" else []
    if show == "flips":
        chosen = regressions + fixes
    views.orders[(show, sort)] = chosen
    return chosen


def compare_rows(
    store: Store,
    comparison: Comparison,
    baseline: RunRecord,
    candidate: RunRecord,
    *,
    show: Show = "flips",
    sort: SortKey = "delta",
    cursor: str | None = None,
    limit: int = 20,
) -> RowsPage:
    """A page of ``show``'s rows of ``comparison`` (of ``baseline`` and ``candidate``)."""
    views = _views(comparison)
    regressions, fixes = views.regressions, views.fixes
    if show in ("flips", "regressions", "fixes"):
        flips = _flips(views, show, sort)
        start = 0
        if cursor:
            value = _decode(cursor)
            if not isinstance(value, int) or value < 0:
                raise UserError("cursor: not one this page gave")
            start = value
        chosen = flips[start : start + limit]
        keys = [(f.case_id, f.epoch) for f in chosen]
        sections = {(f.case_id, f.epoch): f.section for f in chosen}
        more = _encode(start + limit) if start + limit < len(flips) else None
        total: int | None = len(flips)
    else:
        after = None
        if cursor:
            value = _decode(cursor)
            if not (
                isinstance(value, list)
                and len(value) == 2
                and isinstance(value[0], str)
                and isinstance(value[1], int)
            ):
                raise UserError("cursor: not one this page gave")
            after = (value[0], value[1])
        paired, last = paired_rows(
            store,
            baseline.id,
            candidate.id,
            different_only=show == "different",
            after=after,
            limit=limit,
        )
        keys = [(p.case_id, p.epoch) for p in paired]
        sections = {(p.case_id, p.epoch): p.section for p in paired}
        more = None if last is None else _encode(list(last))
        total = comparison.paired if show == "all" else None
    rows = _with_diffs(store, baseline, candidate, keys, sections, regressions, fixes)
    return RowsPage(show=show, sort=sort, rows=rows, total=total, next_cursor=more)


def one_case(
    store: Store,
    comparison: Comparison,
    baseline: RunRecord,
    candidate: RunRecord,
    case_id: str,
    epoch: int = 0,
) -> CompareRow | None:
    """The row of one case (``None`` when neither run has it)."""
    views = _views(comparison)
    regressions, fixes = views.regressions, views.fixes
    [row] = _with_diffs(
        store, baseline, candidate, [(case_id, epoch)], {}, regressions, fixes, sections=True
    )
    if row.baseline_status is None and row.candidate_status is None:
        return None
    return row


def _with_diffs(
    store: Store,
    baseline: RunRecord,
    candidate: RunRecord,
    keys: list[tuple[str, int]],
    section_of: dict[tuple[str, int], str | None],
    regressions: set[tuple[str, int]],
    fixes: set[tuple[str, int]],
    *,
    sections: bool = False,
) -> list[CompareRow]:
    if not keys:
        return []
    texts_a = store.case_texts(baseline.id, keys)
    texts_b = store.case_texts(candidate.id, keys)
    prompts_differ = baseline.prompt_hash != candidate.prompt_hash
    rows = []
    for key in keys:
        a, b = texts_a.get(key), texts_b.get(key)
        clipped = False
        for side in (a, b):
            for name in ("prompt", "output", "error_message"):
                value = None if side is None else side.get(name)
                if isinstance(value, str) and len(value) > DIFF_CLIP:
                    side[name] = value[:DIFF_CLIP]  # type: ignore[index]
                    clipped = True
        diff = diff_rows(key, a, b, prompts_differ=prompts_differ)
        sa, sb = diff.baseline_score, diff.candidate_score
        kind: Literal["regression", "fix", "same"] = (
            "regression" if key in regressions else "fix" if key in fixes else "same"
        )
        section = section_of.get(key)
        if sections and section is None:
            section = _section(a) or _section(b)
        rows.append(
            CompareRow(
                case_id=key[0],
                epoch=key[1],
                section=section,
                kind=kind,
                baseline_status=diff.baseline_status,
                candidate_status=diff.candidate_status,
                baseline_score=sa,
                candidate_score=sb,
                delta=None if sa is None or sb is None else sb - sa,
                diff=diff,
                clipped=clipped,
            )
        )
    return rows


def _section(row: dict[str, object] | None) -> str | None:
    value = None if row is None else row.get("section")
    return value if isinstance(value, str) else None
