"""What an importer returns: the suite's file structure and what could not be mapped.

An import is honest about its gaps: every construct of the source that evalbook cannot
express is a :class:`Note` with the file, the line and the reason, and every assertion
is counted, so the user reads "31 of 34 assertions mapped" and the three that were not.
An assertion that was not mapped stays in the suite as an ``unsupported`` scorer, which
errors on every case instead of letting it pass unchecked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalbook.core.suite import Suite

__all__ = ["ImportOptions", "ImportReport", "ImportedSuite", "Note"]


@dataclass(frozen=True)
class ImportOptions:
    """Overrides an import applies: ``model`` replaces the source's model (a
    ``provider:name`` spec), ``base_url`` points every OpenAI-style model and judge at an
    OpenAI-compatible endpoint (a gateway, a local server); ``columns`` and ``scorers``
    tell the table importers what the data does not say."""

    model: str | None = None
    base_url: str | None = None
    #: Column mapping of a table (``input``, ``expected``, ``section``, ``id``,
    #: ``choices``): which column holds what.
    columns: dict[str, str] = field(default_factory=dict)
    #: Scorer specs (as written in a suite file) replacing an importer's default ones.
    scorers: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Note:
    """One thing the reader of an import should know, at ``file:line``.

    ``mapped`` is False for what was not imported (an unsupported assertion, a provider
    with no evalbook equivalent); True for what was imported with a difference worth
    knowing (a BLEU implementation that is not the source tool's).
    """

    file: str
    line: int | None
    feature: str
    message: str
    mapped: bool = False

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    def __str__(self) -> str:
        mark = "note" if self.mapped else "not mapped"
        return f"{self.location}: {self.feature}: {mark}: {self.message}"


@dataclass
class ImportReport:
    """Every note of one import, and the assertion counts of its summary line."""

    tool: str
    source: str
    notes: list[Note] = field(default_factory=list)
    assertions: int = 0
    assertions_mapped: int = 0
    #: Cases written (the summary of a source that has no assertions of its own).
    cases: int = 0

    def note(
        self, file: str, line: int | None, feature: str, message: str, *, mapped: bool = False
    ) -> Note:
        found = Note(file, line, feature, message, mapped)
        self.notes.append(found)
        return found

    def sorted_notes(self) -> list[Note]:
        """Notes of the source file first, then of each other file, in line order."""
        return sorted(self.notes, key=lambda n: (n.file != self.source, n.file, n.line or 0))

    @property
    def unmapped(self) -> list[Note]:
        return [n for n in self.notes if not n.mapped]

    def summary(self) -> str:
        """``"31 of 34 assertions mapped; 2 other constructs not mapped"``."""
        if self.assertions == 0:
            text = f"{self.cases} case{'s' if self.cases != 1 else ''} imported"
        else:
            text = f"{self.assertions_mapped} of {self.assertions} assertions mapped"
        others = len(self.unmapped) - (self.assertions - self.assertions_mapped)
        if others > 0:
            text += f"; {others} other construct{'s' if others != 1 else ''} not mapped"
        return text


@dataclass
class ImportedSuite:
    """A suite file's structure (as :func:`evalbook.suites.load_suite_from_dict` takes
    it, self-contained: no dataset includes) and the report of its import.

    ``header`` lines are written as comments above the YAML (the source, the summary,
    what the user should do by hand); ``base_dir`` is the source's folder.
    """

    data: dict[str, Any]
    report: ImportReport
    base_dir: Path
    header: list[str] = field(default_factory=list)
    #: Label of each of the suite's ``models:`` → where the source defines it
    #: (``file:line`` and the source's id), for errors about that model.
    origins: dict[str, str] = field(default_factory=dict)

    def load(self) -> Suite:
        """The suite, built and checked by the suite loader."""
        from evalbook.suites import load_suite_from_dict

        suite = load_suite_from_dict(self.data, base_dir=self.base_dir, source=self.report.source)
        if not self.origins:
            return suite
        models = [
            m.model_copy(update={"origin": self.origins.get(m.label, m.origin)})
            for m in suite.models
        ]
        return suite.model_copy(update={"models": models})

    def to_yaml(self) -> str:
        """The suite file, with a comment header naming the source (see ``_writer``)."""
        from evalbook.importers._writer import suite_yaml

        return suite_yaml(self)
