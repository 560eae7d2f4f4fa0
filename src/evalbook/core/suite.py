"""Suites, cases, prompts and scorer specs: the fixed instrument a run reads from."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from io import BufferedIOBase
from typing import Annotated, Any, overload

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WrapValidator,
    model_validator,
)

from evalbook.core.identity import (
    ROW_ENCODER,
    canonical_json,
    content_hash,
    content_hash_of_text,
    encode_str,
)
from evalbook.core.messages import ImagePart, Message
from evalbook.core.model_config import ModelConfig


class ScorerKind(StrEnum):
    """The scorer types of the EvalRun interchange record, exactly."""

    code = "code"
    llm_judge = "llm_judge"
    human = "human"
    heuristic = "heuristic"
    reference_based = "reference_based"
    reference_free = "reference_free"
    pairwise = "pairwise"


class ScorerSpec(BaseModel):
    """A scorer as data: registry ``type`` (``not-`` prefix negates) plus its config.

    ``config`` holds the scorer's own options (validated by the scorer at suite load);
    ``value`` is its main argument (the needle of ``contains``, the pattern of ``regex``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    value: Any = None
    config: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None
    weight: float = Field(default=1.0, ge=0)
    threshold: float | None = None

    @property
    def negated(self) -> bool:
        return self.type.startswith("not-")

    @property
    def base_type(self) -> str:
        return self.type[4:] if self.negated else self.type

    @property
    def metric_name(self) -> str:
        return self.name or self.type


class PromptVersion(BaseModel):
    """One immutable version of a prompt: an optional system message plus messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1)
    system: str | None = None
    messages: list[Message]

    @property
    def hash(self) -> str:
        return content_hash("prompt-version", self.model_dump(mode="json", exclude={"version"}))


class Prompt(BaseModel):
    """A named prompt with numbered versions; the default is the highest version."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    versions: list[PromptVersion]

    @model_validator(mode="after")
    def _versions_unique(self) -> Prompt:
        numbers = [v.version for v in self.versions]
        if not numbers:
            raise ValueError("a prompt needs at least one version")
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"prompt {self.name!r} has duplicate version numbers {numbers}")
        return self

    @property
    def latest(self) -> PromptVersion:
        return max(self.versions, key=lambda v: v.version)

    def get(self, version: int | None) -> PromptVersion:
        if version is None:
            return self.latest
        for v in self.versions:
            if v.version == version:
                return v
        known = ", ".join(str(v.version) for v in self.versions)
        raise KeyError(f"prompt {self.name!r} has no version {version} (known: {known})")


class Case(BaseModel):
    """One input of a suite. ``id`` is stable: given, or generated from the content."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    vars: dict[str, Any] = Field(default_factory=dict)
    messages: list[Message] | None = None
    expected: Any = None
    choices: list[str] | None = None
    section: str | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    assets: list[ImagePart] = Field(default_factory=list)
    scorers: list[ScorerSpec] = Field(default_factory=list)

    @property
    def expected_text(self) -> str | None:
        """``expected`` as the record's string field (JSON for structured values)."""
        if self.expected is None or isinstance(self.expected, str):
            return self.expected
        from evalbook.core.identity import canonical_json

        return canonical_json(self.expected)


def case_json(case: Case) -> str:
    """The canonical JSON of a case: its part of the suite definition's hashed bytes."""
    return canonical_json(case.model_dump(mode="json"))


#: The fields of :class:`Case`, sorted as canonical JSON sorts them; :func:`row_case_json`
#: writes these and no others (were a field added, every case falls back to the dump).
_ROW_FIELDS = (
    "assets", "choices", "expected", "id", "messages", "metadata", "scorers", "section",
    "tags", "vars",
)  # fmt: skip
_ROW_FAST = tuple(sorted(Case.model_fields)) == _ROW_FIELDS


def row_case_json(case: Case) -> str:
    """:func:`case_json` of a case made from a dataset row, whose values are JSON's own
    (string keys; strings, numbers, booleans, null, lists, objects): the same text,
    assembled from the fields without dumping the model first (most of the cost of a
    100k-case dataset's load). A case with messages, assets or scorers of its own, or a
    value JSON has no number for (NaN, which the dump writes as null), takes the dump."""
    if not _ROW_FAST or case.messages is not None or case.assets or case.scorers:
        return case_json(case)
    try:
        return "".join(
            (
                '{"assets":[],"choices":',
                _row_value(case.choices),
                ',"expected":',
                _row_value(case.expected),
                ',"id":',
                encode_str(case.id),
                ',"messages":null,"metadata":',
                _row_value(case.metadata) if case.metadata else "{}",
                ',"scorers":[],"section":',
                _row_value(case.section),
                ',"tags":',
                _row_value(case.tags) if case.tags else "[]",
                ',"vars":',
                _row_value(case.vars),
                "}",
            )
        )
    except (TypeError, ValueError):  # not a JSON value after all: as the dump writes it
        return case_json(case)


def _row_value(value: Any) -> str:
    """A JSON value as :func:`canonical_json` writes it; a value decoded from JSON holds
    no cycle, so the encoder needs no record of the containers it is in."""
    if value is None:
        return "null"
    if type(value) is str:
        return encode_str(value)
    if ROW_ENCODER is None:  # pragma: no cover - Python without the C accelerator
        return canonical_json(value)
    return "".join(ROW_ENCODER(value, 0))


class CaseList(Sequence[Case]):
    """The cases of a suite read from dataset files, each kept as its canonical JSON and
    decoded when it is read (a plan reads them one at a time).

    A decoded 100k-case suite took ~2 KB per case (a model, its dicts and lists); the
    canonical JSON is the size of the dataset line, and it is exactly the bytes the suite
    hash and the stored definition need, so neither dumps a case again. An inline case of
    the suite file (or of a suite posted to the API) is kept as written too, and read as
    it is; its JSON is kept beside it all the same (the loader makes it to check the case
    encodes; the hash and the definition used to make it twice more: a third of posting
    a 100,000-case suite). Whoever builds one has checked its ids are unique (the suite
    loader does).

    The JSON is kept in one buffer (UTF-8, each case followed by a comma), not a string
    per case; once the suite's definition text is made (:meth:`definition_text`), in that
    text instead: a big suite is held once, never as its cases plus its definition.

    What a run's checks before it starts read of every case is noted as cases are added
    (:attr:`variable_names`, :meth:`with_own_messages`, :meth:`with_metadata`), so they
    decode none of the rest.
    """

    __slots__ = (
        "_buf", "_cases", "_offset", "_own_messages", "_starts", "_tail", "_text",
        "_with_metadata", "variable_names",
    )  # fmt: skip

    def __init__(self, cases: Iterable[Case] = (), *, compact: bool = True) -> None:
        #: The cases' JSON, each followed by a comma (``None`` while :attr:`_text` holds
        #: it); where each begins in it, and where the next would.
        self._buf: bytearray | None = bytearray()
        self._starts = array("q", [0])
        #: Entries also kept as they are (index → case): an inline case of the suite file.
        self._cases: dict[int, Case] = {}
        #: The definition text the cases are kept in once it is made, what follows them
        #: in it, and where they begin in it.
        self._text: str | None = None
        self._tail = ""
        self._offset = 0
        self._own_messages: list[int] = []
        self._with_metadata: list[int] = []
        #: Every variable name some case gives.
        self.variable_names: set[str] = set()
        for case in cases:
            self.append(case, compact=compact)

    def append(self, case: Case, *, compact: bool = True, from_row: bool = False) -> None:
        """Add ``case``: as its canonical JSON, and when not ``compact`` also as it is (read
        as it is; its JSON is what the hash and the definition read, not made again).
        ``from_row``: the case was made from a dataset row (its JSON is assembled faster,
        see :func:`row_case_json`)."""
        # Encoded first: a case that is not valid Unicode text (a lone surrogate) raises
        # ``UnicodeEncodeError`` before anything of it is kept.
        text = (row_case_json(case) if from_row else case_json(case)).encode()
        buf = self._buffer()
        index = len(self)
        if case.messages is not None:
            self._own_messages.append(index)
        if case.metadata:
            self._with_metadata.append(index)
        self.variable_names.update(case.vars)
        if not compact:
            self._cases[index] = case
        buf += text
        buf += b","
        self._starts.append(len(buf))

    def _buffer(self) -> bytearray:
        """The buffer, taken back out of the definition text if the cases are kept there."""
        if self._buf is None:
            assert self._text is not None
            end = self._offset + self._starts[-1] - 1
            self._buf = bytearray(self._text[self._offset : end].encode())
            self._buf += b","
            self._text, self._offset = None, 0
        return self._buf

    def _entry(self, index: int) -> str | Case:
        index = range(len(self))[index]  # an IndexError as a list's, negatives too
        case = self._cases.get(index)
        if case is not None:
            return case
        return self._json(index)

    def _json(self, index: int) -> str:
        """The canonical JSON of the case at ``index`` (every case's is kept)."""
        start, end = self._starts[index], self._starts[index + 1] - 1
        text, buf = self._text, self._buf
        if text is not None:
            return text[self._offset + start : self._offset + end]
        assert buf is not None
        return buf[start:end].decode()

    def with_own_messages(self) -> Iterator[Case]:
        """The cases that have messages of their own (not the prompt's), in order."""
        for i in self._own_messages:
            yield _decode(self._entry(i))

    def with_metadata(self) -> Iterator[Case]:
        """The cases that have metadata, in order (a run's model tier is read from it)."""
        for i in self._with_metadata:
            yield _decode(self._entry(i))

    @property
    def all_own_messages(self) -> bool:
        """True when every case has messages of its own (none uses the prompt's)."""
        return len(self._own_messages) == len(self)

    def __len__(self) -> int:
        return len(self._starts) - 1

    @overload
    def __getitem__(self, index: int) -> Case: ...

    @overload
    def __getitem__(self, index: slice) -> list[Case]: ...

    def __getitem__(self, index: int | slice) -> Case | list[Case]:
        if isinstance(index, slice):
            return [_decode(self._entry(i)) for i in range(len(self))[index]]
        return _decode(self._entry(index))

    def __iter__(self) -> Iterator[Case]:
        for i in range(len(self)):
            yield _decode(self._entry(i))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CaseList({len(self)} cases)"

    def canonical(self) -> Iterator[str]:
        """Each case's canonical JSON (:func:`case_json`), in order."""
        for i in range(len(self)):
            yield self._json(i)

    def definition_text(self, tail: str) -> str:
        """``{"cases":[`` + each case's canonical JSON, comma-separated, + ``tail``: a
        suite definition's text, made once. The cases are kept in it from then on (when
        it is ASCII, as a dataset's JSON mostly is): a big suite's definition takes no
        memory beyond its cases' (a 200 MB dataset took three copies of it before: the
        cases, the text and the database driver's)."""
        if self._text is not None and self._tail == tail:
            return self._text
        buf = self._buffer()
        # the buffer becomes the text's bytes in place (its last comma, the tail), is
        # decoded once, and is let go when the text can hold the cases instead
        head = _DEFINITION_HEAD.encode()
        buf[len(buf) - 1 :] = tail.encode()
        buf[0:0] = head
        text = buf.decode()
        if text.isascii():  # each character a byte: the cases' offsets hold in the text
            self._text, self._tail, self._offset, self._buf = text, tail, len(head), None
            return text
        del buf[: len(head)]
        buf[len(buf) - len(tail.encode()) :] = b","
        return text

    def set_aside(self, into: BufferedIOBase) -> None:
        """Write the cases' JSON to ``into`` and let go of it until :meth:`take_back` (a big
        suite's definition is written meanwhile, its cases not held twice)."""
        into.write(self._buffer())
        self._buf = None

    def take_back(self, source: BufferedIOBase) -> None:
        """Keep again the cases' JSON that :meth:`set_aside` wrote to ``source``."""
        buf = bytearray(self._starts[-1])
        if source.seek(0) != 0 or source.readinto(buf) != len(buf):
            raise OSError("the cases set aside were not read back whole")
        self._buf = buf

    def definition_pieces(self, tail: str) -> Iterator[str | bytes | memoryview]:
        """:meth:`definition_text` in pieces (what a hash reads), without making it."""
        if self._text is not None and self._tail == tail:
            text = self._text
            for at in range(0, len(text), _PIECE):
                yield text[at : at + _PIECE]
            return
        buf = self._buffer()
        yield _DEFINITION_HEAD
        with memoryview(buf) as view:
            end = len(buf) - 1  # not the last comma
            for at in range(0, end, _PIECE):
                yield view[at : min(at + _PIECE, end)]
        yield tail


#: How a suite definition's text begins (its keys are sorted: "cases" comes first).
_DEFINITION_HEAD = '{"cases":['
#: Bytes hashed at once of a suite definition (a big one is not copied whole to be).
_PIECE = 1 << 20


def _decode(entry: str | Case) -> Case:
    return entry if isinstance(entry, Case) else Case.model_validate_json(entry)


def _comma_separated(parts: list[str]) -> Iterator[str]:
    for i, part in enumerate(parts):
        if i:
            yield ","
        yield part


def _keep_case_list(value: Any, handler: Any) -> Any:
    return value if isinstance(value, CaseList) else handler(value)


def _as_list(value: Sequence[Case]) -> list[Case]:
    return value if isinstance(value, list) else list(value)


#: A suite's cases: a list, or a :class:`CaseList` kept as it is (never decoded whole).
Cases = Annotated[
    Sequence[Case],
    WrapValidator(_keep_case_list),
    PlainSerializer(_as_list, return_type=list[Case]),
]


class MatrixModel(BaseModel):
    """One model of a suite's ``models:`` list: a labelled column of its matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=200)
    model: ModelConfig
    #: Where the model was written (``file:line``; for an imported one, also the source
    #: tool's own id), so an error about it points there.
    origin: str | None = None
    #: The prompt versions this model runs (promptfoo's per-provider ``prompts:``, its
    #: ``providerPromptMap``); ``None``: every version the suite runs.
    prompt_versions: list[int] | None = None


class CaseFilter(BaseModel):
    """The combinations of a suite's matrix one case runs in (``case_filters:``): only
    with these model labels and/or prompt versions (``None``: every one). promptfoo's
    per-test ``providers:``/``prompts:`` filters become these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    models: list[str] | None = None
    prompt_versions: list[int] | None = None

    def admits(self, label: str | None, version: int) -> bool:
        """Whether the combination (a model label, or None for a model the suite does
        not label, and a prompt version) runs the case."""
        if self.prompt_versions is not None and version not in self.prompt_versions:
            return False
        return self.models is None or label is None or label in self.models


class DerivedMetric(BaseModel):
    """A run metric computed from the run's named scores (``derived_metrics:``): an
    arithmetic ``expression`` over scorer names (each the sum of that scorer's scores
    over the run's results), ``__count`` (the results) and earlier derived metrics."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    expression: str = Field(min_length=1, max_length=2000)


class Suite(BaseModel):
    """A named, versioned set of cases with default prompt, model, scorers and threshold."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str
    description: str | None = None
    version: str = "1"
    prompt: Prompt
    model: ModelConfig | None = None
    threshold: float = Field(default=1.0, ge=0, le=1)
    scorers: list[ScorerSpec] = Field(default_factory=list)
    render_assertions: list[ScorerSpec] = Field(default_factory=list)
    cases: Cases
    tags: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, exclude=True)
    #: The matrix ``evalbook run`` runs (the ``models:`` and ``prompt_versions:`` of the
    #: file): how to run the suite, not what it is, so neither is stored nor hashed.
    models: list[MatrixModel] = Field(default_factory=list, exclude=True)
    prompt_versions: list[int] = Field(default_factory=list, exclude=True)
    #: Case id → the combinations of the matrix it runs in (how to run, not hashed).
    case_filters: dict[str, CaseFilter] = Field(default_factory=dict, exclude=True)
    #: Run metrics computed from named scores when a run ends (how to report, not hashed).
    derived_metrics: list[DerivedMetric] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _case_ids_unique(self) -> Suite:
        if isinstance(self.cases, CaseList):
            return self  # checked by whoever built it, without decoding every case
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id!r}")
            seen.add(case.id)
        return self

    def definition(self) -> dict[str, Any]:
        """Everything that defines the instrument (not the default model): what is stored
        and what :attr:`hash` hashes."""
        if not isinstance(self.cases, CaseList):
            return self.model_dump(mode="json", exclude={"model", "source"})
        head = self.model_dump(mode="json", exclude={"model", "source", "cases"})
        cases = [json.loads(piece) for piece in self.cases.canonical()]
        return {k: cases if k == "cases" else head[k] for k in ["cases", *head]}

    def definition_json(self) -> str:
        """:meth:`definition` as canonical JSON, assembled from each case's canonical JSON
        (the same text as ``canonical_json(self.definition())``, without the dicts). Of a
        :class:`CaseList`, made once: its cases are kept in the text from then on."""
        tail = self._definition_tail()
        if isinstance(self.cases, CaseList) and tail is not None:
            return self.cases.definition_text(tail)
        return ",".join(self._definition_parts())

    def _definition_tail(self) -> str | None:
        """What follows the cases in the definition's canonical JSON (``None``: a field
        sorting before "cases", which there is not)."""
        head = canonical_json(
            {**self.model_dump(mode="json", exclude={"model", "source", "cases"}), "cases": []}
        )
        empty = _DEFINITION_HEAD + "]"
        if not head.startswith(empty):  # pragma: no cover - a field sorting before "cases"
            return None
        return "]" + head[len(empty) :]

    def _definition_parts(self) -> list[str]:
        """The canonical JSON of :meth:`definition` split at the commas between cases: the
        cases' own strings, the first and last with the rest of the definition fused on
        (one join makes the text; a big suite's text is not copied on the way)."""
        head = canonical_json(
            {**self.model_dump(mode="json", exclude={"model", "source", "cases"}), "cases": []}
        )
        empty = '{"cases":[]'  # keys are sorted: "cases" comes first
        if not head.startswith(empty):  # pragma: no cover - a field sorting before "cases"
            return [canonical_json(self.definition())]
        parts = (
            list(self.cases.canonical())
            if isinstance(self.cases, CaseList)
            else [case_json(c) for c in self.cases]
        )
        tail = "]" + head[len(empty) :]
        if not parts:
            return ['{"cases":[' + tail]
        parts[0] = '{"cases":[' + parts[0]
        parts[-1] = parts[-1] + tail
        return parts

    @staticmethod
    def hash_of(definition: dict[str, Any]) -> str:
        return content_hash("suite", definition)

    @staticmethod
    def hash_of_json(definition_json: str) -> str:
        """:meth:`hash_of` the definition whose canonical JSON is ``definition_json``."""
        return content_hash_of_text("suite", (definition_json,))

    @property
    def hash(self) -> str:
        """Content hash of :meth:`definition`, taken piece by piece."""
        return content_hash_of_text("suite", self.definition_pieces())

    def definition_pieces(self) -> Iterator[str | bytes | memoryview]:
        """:meth:`definition_json` in pieces (UTF-8 where bytes), without making it."""
        tail = self._definition_tail()
        if isinstance(self.cases, CaseList) and tail is not None:
            return self.cases.definition_pieces(tail)
        return _comma_separated(self._definition_parts())

    def select(self, case_ids: list[str] | None) -> Sequence[Case]:
        """The cases to run, in suite order; unknown ids raise ``KeyError`` naming them.
        All of them: the suite's own (immutable) sequence, not a copy."""
        if not case_ids:
            return self.cases if isinstance(self.cases, CaseList) else list(self.cases)
        wanted = set(case_ids)
        known = {c.id for c in self.cases}
        missing = sorted(wanted - known)
        if missing:
            raise KeyError(f"suite {self.id!r} has no case(s) {', '.join(missing)}")
        return [c for c in self.cases if c.id in wanted]
