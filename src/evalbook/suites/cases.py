"""The ``cases:`` of a suite file: inline cases and dataset includes, as :class:`Case`.

A list item that is a mapping with ``file`` (and optionally ``section`` and ``tags``,
applied to every case of that file) is an include of a JSONL or CSV dataset beside the
suite file; any other mapping is one case. A case without ``id`` gets
``"c-" + short_hash("case", {vars, messages, expected})`` (plus the image hashes when it
has assets), so its id survives reordering; two cases with the same id are an error that
names both places.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from evalbook.core.identity import short_hash
from evalbook.core.messages import ImagePart
from evalbook.core.suite import Case
from evalbook.suites.assets import load_image
from evalbook.suites.datasets import read_dataset
from evalbook.suites.problems import Problems, Where
from evalbook.suites.prompt_spec import check_message_templates
from evalbook.suites.scorer_specs import parse_specs
from evalbook.suites.yaml_lines import LineDict, plain

__all__ = [
    "BuiltCase", "CaseSource", "build_cases", "case_id_for", "expand_cases", "iter_cases",
]  # fmt: skip

CASE_KEYS = frozenset(Case.model_fields)
INCLUDE_KEYS = frozenset({"file", "section", "tags"})


class CaseSource(NamedTuple):
    """One case as written, where it was written, and what its include adds to it.

    A named tuple (as :class:`BuiltCase`): one is made per case, and a 100k-row dataset
    spent more making frozen dataclasses than decoding its JSON."""

    raw: dict[str, Any]
    where: Where
    base_dir: Path | None
    section: str | None = None
    tags: Sequence[str] = ()
    #: A row of a dataset file (JSON values only: it may be kept as its canonical JSON).
    from_file: bool = False


class BuiltCase(NamedTuple):
    case: Case
    where: Where
    generated_id: bool
    from_file: bool = False


def expand_cases(
    raw: Any, where: Where, base_dir: Path | None, problems: Problems
) -> Iterator[CaseSource]:
    """Every case of the ``cases`` list, dataset includes read in place."""
    if not isinstance(raw, list):
        problems.add(where, "must be a list of cases" if raw is not None else "is required")
        return
    for i, item in enumerate(raw):
        item_where = where.child(i)
        if not isinstance(item, dict):
            problems.add(item_where, f"a case must be a mapping, not {type(item).__name__}")
        elif "file" in item:
            yield from _include(item, item_where, base_dir, problems)
        else:
            yield CaseSource(item, item_where, base_dir)


def _include(
    item: dict[str, Any], where: Where, base_dir: Path | None, problems: Problems
) -> Iterator[CaseSource]:
    extra = sorted(str(k) for k in item if k not in INCLUDE_KEYS)
    if extra:
        problems.add(
            where,
            f"a dataset include takes only file, section and tags; found {', '.join(extra)}"
            " (put per-case fields in the dataset file)",
        )
        return
    name, section, tags = item["file"], item.get("section"), item.get("tags", [])
    if not isinstance(name, str) or not name:
        problems.add(where, "must be a relative path to a .jsonl or .csv file", ("file",))
        return
    if section is not None and not isinstance(section, str):
        problems.add(where, "must be a string", ("section",))
        return
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.add(where, "must be a list of strings", ("tags",))
        return
    if base_dir is None:
        problems.add(where, f"dataset {name!r} needs a base directory (load from a file)")
        return
    path = base_dir / name
    try:
        rows = read_dataset(path, str(path), problems)
    except OSError as exc:
        problems.add(where, f"cannot read dataset {name!r}: {exc}", ("file",))
        return
    except ValueError as exc:  # includes UnicodeDecodeError
        problems.add(where, f"cannot read dataset {name!r}: {exc}", ("file",))
        return
    folder, include_tags = path.parent, tuple(tags)
    try:
        for row in rows:
            yield CaseSource(row.data, row.where, folder, section, include_tags, True)
    except ValueError as exc:  # UnicodeDecodeError, met while reading on
        problems.add(where, f"cannot read dataset {name!r}: {exc}", ("file",))


def build_cases(sources: Iterator[CaseSource], problems: Problems) -> list[BuiltCase]:
    """Valid cases in order; problems (and duplicate ids, naming both places) recorded."""
    return list(iter_cases(sources, problems))


def iter_cases(sources: Iterator[CaseSource], problems: Problems) -> Iterator[BuiltCase]:
    """:func:`build_cases` one at a time: only each id's place is kept (a case read from a
    dataset is not held once the caller lets it go)."""
    # id → where it was first used: a dataset row's file and line (its text is made only
    # for a duplicate), any other case's location
    first: dict[str, str | tuple[str, int | None]] = {}
    for source in sources:
        one = _build_case(source, problems)
        if one is None:
            continue
        seen = first.get(one.case.id)
        if seen is not None:
            earlier = seen if isinstance(seen, str) else f"{seen[0]}:{seen[1]}"
            hint = (
                " (generated from identical vars, messages and expected; give the cases ids)"
                if one.generated_id
                else ""
            )
            message = f"duplicate case id {one.case.id!r}, first used at {earlier}{hint}"
            problems.add(one.where, message)
            continue
        where = one.where
        # a row's node is its plain dict, without lines: its place is the row's line
        first[one.case.id] = (where.file, where.line) if one.from_file else where.location()
        yield one


def case_id_for(case: Case) -> str:
    """The generated id: stable under reordering, changes when the content does."""
    messages = None if case.messages is None else [m.model_dump(mode="json") for m in case.messages]
    body: dict[str, Any] = {"vars": case.vars, "messages": messages, "expected": case.expected}
    if case.assets:
        body["assets"] = [a.sha256 for a in case.assets]
    try:
        return "c-" + short_hash("case", body)
    except (TypeError, ValueError):  # YAML dates and the like: hash their JSON form
        body.update(case.model_dump(mode="json", include={"vars", "expected"}))
        return "c-" + short_hash("case", body)


def _build_case(source: CaseSource, problems: Problems) -> BuiltCase | None:
    where = source.where
    # YAML containers carry lines (LineDict); JSONL / CSV rows and API dicts are plain.
    data: dict[str, Any] = plain(source.raw) if isinstance(source.raw, LineDict) else source.raw
    ok = problems.check_keys(where, data, CASE_KEYS)
    # a copy (the caller's dict is left as it is); unknown keys dropped, the rest checked
    data = dict(data) if ok else {k: v for k, v in data.items() if k in CASE_KEYS}
    if source.section is not None and data.get("section") is None:
        data["section"] = source.section
    if source.tags and isinstance(data.get("tags", []), list):
        own = data.get("tags", [])
        data["tags"] = own + [t for t in source.tags if t not in own]
    case_id = data.get("id")
    generated = case_id is None
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        data["id"] = case_id = str(case_id)
    if isinstance(case_id, str) and not case_id.strip():
        problems.add(where, "must not be empty", ("id",))
        ok = False
    if isinstance(data.get("assets"), list):
        data["assets"], assets_ok = _assets(data["assets"], where, source.base_dir, problems)
        ok = ok and assets_ok
    if isinstance(data.get("scorers"), list):
        data["scorers"], specs_ok = parse_specs(data["scorers"], where, ("scorers",), problems)
        ok = ok and specs_ok
    try:
        if not case_id:
            data["id"] = "?"  # a stand-in: the id made from the content replaces it below
        case = Case.model_validate(data)
    except ValidationError as exc:
        problems.add_validation(where, exc)
        return None
    if not ok:
        return None
    if case.messages is not None and not check_message_templates(case.messages, where, problems):
        return None
    if generated:
        case = case.model_copy(update={"id": case_id_for(case)})
    return BuiltCase(case, where, generated, source.from_file)


def _assets(
    raw: list[Any], where: Where, base_dir: Path | None, problems: Problems
) -> tuple[list[ImagePart], bool]:
    parts: list[ImagePart] = []
    ok = True
    for i, item in enumerate(raw):
        try:
            parts.append(load_image(item, base_dir))
        except ValueError as exc:
            problems.add(where, str(exc), ("assets", i))
            ok = False
    return parts, ok
