"""Record another tool's finished results as an evalbook run, without calling a model.

A team switching tools keeps its history: a promptfoo results file becomes runs that
``compare``, ``gate``, ``trend`` and the web workspace read like any other. An imported
run is ``completed`` (or ``failed`` when its source says so), tagged ``imported`` and
``imported:TOOL``, its description names the source tool, version and file, and
``metrics.imported`` keeps what has no place in our record. It is summarised by the same
:func:`~evalbook.executor.finish.finish_run` as a run that was executed, so its score
and pass/fail follow the same rules.

Everything is validated before anything is written: a bad source records nothing.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from evalbook._version import __version__
from evalbook.core.identity import result_id
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import FailureReason, Result, ResultStatus, ScoreRecord
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import Suite
from evalbook.errors import ConfigError
from evalbook.executor.finish import finish_run
from evalbook.executor.store_io import StoreIO
from evalbook.storage.store import Store

__all__ = ["ImportedResult", "ImportedRun", "record_imported_run"]


@dataclass(frozen=True)
class ImportedResult:
    """One case's finished result as the source recorded it."""

    case_id: str
    status: ResultStatus
    output: str | None
    scores: list[ScoreRecord] = field(default_factory=list)
    prompt: str | None = None
    messages: list[Message] = field(default_factory=list)
    score: float | None = None
    latency_ms: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    cached: bool = False
    error_message: str | None = None
    epoch: int = 0


@dataclass(frozen=True)
class ImportedRun:
    """A whole run from another tool: the suite and model it read, and its results.

    ``source`` is kept as ``metrics.imported`` (the tool, its version, the file, and
    whatever else the source had that our record has no field for).
    """

    suite: Suite
    model: ModelConfig
    results: list[ImportedResult]
    tool: str
    tool_version: str | None
    source: dict[str, Any]
    title: str
    prompt_version: int | None = None
    experiment_id: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    epochs: int = 1


def record_imported_run(store: Store, imported: ImportedRun) -> RunRecord:
    """Write ``imported`` as a finished run and return it (see the module docstring)."""
    suite = imported.suite
    known = {c.id: c for c in suite.cases}
    unknown = [r.case_id for r in imported.results if r.case_id not in known]
    if unknown:
        raise ConfigError(f"results for cases the suite does not have: {unknown[:5]}")
    if not imported.results:
        raise ConfigError("the source has no results to import")
    version = suite.prompt.get(imported.prompt_version)
    # An imported run belongs to the default workspace (RunRecord's), and so does its prompt.
    suite_hash = store.save_definitions(
        suite, suite.prompt.name, version, imported.model, workspace_id="default"
    )
    when = imported.created_at or datetime.now(UTC)
    tool = imported.tool
    run = RunRecord(
        id=str(uuid.uuid4()),
        title=imported.title,
        description=(
            f"imported from {tool}"
            + (f" {imported.tool_version}" if imported.tool_version else "")
            + (f" ({imported.source['file']})" if imported.source.get("file") else "")
        ),
        status=RunStatus.running,
        tags=sorted({*suite.tags, *imported.tags, "imported", f"imported:{tool}"}),
        run_date=when.date().isoformat(),
        experiment_id=imported.experiment_id,
        suite_id=suite.id,
        suite_name=suite.name,
        suite_version=suite.version,
        suite_hash=suite_hash,
        prompt_name=suite.prompt.name,
        prompt_version=version.version,
        prompt_hash=version.hash,
        model=imported.model.model_dump(mode="json"),
        model_hash=imported.model.hash,
        threshold=suite.threshold,
        evalbook_version=__version__,
        created_at=when,
        started_at=when,
    )
    run.options = run.options.model_copy(update={"epochs": imported.epochs})
    run.counts.total = len(imported.results)
    rows = [
        (_result(run.id, seq, r, known[r.case_id], when), seq)
        for seq, r in enumerate(imported.results)
    ]
    store.insert_run(run)
    store.save_results(rows)
    io = StoreIO()
    try:
        finished = asyncio.run(
            finish_run(store, io, run, started=time.perf_counter(), planned=len(rows))
        )
    finally:
        io.close()
    finished.metrics = {
        **finished.metrics,
        "imported": {"tool": tool, "version": imported.tool_version, **imported.source},
    }
    store.update_run(finished)
    return finished


def _result(run_id: str, seq: int, r: ImportedResult, case: Any, when: datetime) -> Result:
    return Result(
        # Ids in plan order, as a run's (see ``result_id``): a big import's rows go to the
        # end of the keys' B-trees rather than to a page anywhere in them.
        id=result_id(run_id, seq, r.case_id, r.epoch),
        run_id=run_id,
        case_id=r.case_id,
        epoch=r.epoch,
        status=r.status,
        failure_reason=(
            None
            if r.status is ResultStatus.passed
            else FailureReason.error
            if r.status is ResultStatus.error
            else FailureReason.assertion
        ),
        input=dict(case.vars),
        messages=r.messages,
        prompt=r.prompt,
        output=r.output,
        expected=case.expected if isinstance(case.expected, str) else None,
        choices=case.choices,
        section=case.section,
        tags=list(case.tags),
        scores=r.scores,
        score=r.score,
        latency_ms=r.latency_ms,
        input_tokens=r.input_tokens,
        output_tokens=r.output_tokens,
        cost_usd=r.cost_usd,
        cached=r.cached,
        error_type="ImportedError" if r.status is ResultStatus.error else None,
        error_message=r.error_message,
        created_at=when,
    )
