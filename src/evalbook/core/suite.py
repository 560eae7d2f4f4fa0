"""Suites, cases, prompts and scorer specs: the fixed instrument a run reads from."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from evalbook.core.identity import content_hash
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


class MatrixModel(BaseModel):
    """One model of a suite's ``models:`` list: a labelled column of its matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str = Field(min_length=1, max_length=200)
    model: ModelConfig
    #: Where the model was written (``file:line``; for an imported one, also the source
    #: tool's own id), so an error about it points there.
    origin: str | None = None


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
    cases: list[Case]
    tags: list[str] = Field(default_factory=list)
    source: str | None = Field(default=None, exclude=True)
    #: The matrix ``evalbook run`` runs (the ``models:`` and ``prompt_versions:`` of the
    #: file): how to run the suite, not what it is, so neither is stored nor hashed.
    models: list[MatrixModel] = Field(default_factory=list, exclude=True)
    prompt_versions: list[int] = Field(default_factory=list, exclude=True)

    @model_validator(mode="after")
    def _case_ids_unique(self) -> Suite:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id!r}")
            seen.add(case.id)
        return self

    def definition(self) -> dict[str, Any]:
        """Everything that defines the instrument (not the default model): what is stored
        and what :attr:`hash` hashes."""
        return self.model_dump(mode="json", exclude={"model", "source"})

    @staticmethod
    def hash_of(definition: dict[str, Any]) -> str:
        return content_hash("suite", definition)

    @property
    def hash(self) -> str:
        """Content hash of :meth:`definition`."""
        return self.hash_of(self.definition())

    def select(self, case_ids: list[str] | None) -> list[Case]:
        """The cases to run, in suite order; unknown ids raise ``KeyError`` naming them."""
        if not case_ids:
            return list(self.cases)
        wanted = set(case_ids)
        known = {c.id for c in self.cases}
        missing = sorted(wanted - known)
        if missing:
            raise KeyError(f"suite {self.id!r} has no case(s) {', '.join(missing)}")
        return [c for c in self.cases if c.id in wanted]
