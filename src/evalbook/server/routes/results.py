"""What a run recorded: its results (filtered, paged), human feedback on them, its
metrics, and exports in the CLI's formats (streamed: a run of 100k cases never sits in
memory)."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from typing import Annotated, Literal, TextIO, cast

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from evalbook.analysis.feedback import feedback_summary, human_verdicts, record_feedback
from evalbook.core.feedback import Feedback
from evalbook.core.run import RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.io.export import HumanFeedback, write
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import (
    CursorQuery,
    LimitQuery,
    OffsetQuery,
    RunId,
    StoreDep,
    decode_cursor,
    encode_cursor,
    next_url,
    text_query,
)
from evalbook.server.schemas.common import INT32
from evalbook.server.schemas.runs import (
    CriterionFeedbackOut,
    FeedbackIn,
    FeedbackList,
    MetricOut,
    ResultOut,
    ResultPage,
    RunMetrics,
)
from evalbook.storage.feedback import list_feedback
from evalbook.storage.results import ResultFilter, query_results
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.store import Store
from evalbook.storage.stored_changes import stored_changes_of

router = APIRouter(prefix="/api/runs/{run_id}", tags=["results"])

Epoch = Annotated[int, Query(ge=0, le=INT32)]
CaseId = Annotated[str, Path(min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$")]
ExportFormat = Literal["jsonl", "json", "csv"]
_MEDIA = {"jsonl": "application/x-ndjson", "json": "application/json", "csv": "text/csv"}


@router.get("/results")
def list_results(
    run_id: RunId,
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    failed_only: Annotated[bool, Query(description="Failed and errored results only")] = False,
    errored_only: Annotated[bool, Query(description="Errored results only")] = False,
    awaiting_review: Annotated[
        bool, Query(description="Results a human scorer marked that have no review yet")
    ] = False,
    section: Annotated[str | None, text_query("Cases of this section")] = None,
    scorer: Annotated[
        str | None, text_query("Results this scorer scored (with failed_only: did not pass)")
    ] = None,
    q: Annotated[str | None, text_query("Text in the output or the case id")] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> ResultPage:
    """A run's results in plan order, one page at a time (follow ``next``)."""
    get_workspace_run(store, workspace.id, run_id)
    after = -1
    if cursor is not None:
        position = decode_cursor(cursor)
        if len(position) != 1 or not isinstance(position[0], int):
            raise UserError("cursor: not a cursor this server gave out")
        after = position[0]
    flt = ResultFilter(
        failed_only=failed_only,
        errored_only=errored_only,
        section=section,
        q=q,
        scorer=scorer,
        awaiting_review=awaiting_review,
    )
    results, last = query_results(store, run_id, flt, limit=limit, after_seq=after)
    link = None if last is None else next_url(request, cursor=encode_cursor([last]))
    changes = stored_changes_of(store, [r.id for r in results])
    return ResultPage(items=[ResultOut.of(r, changes.get(r.id)) for r in results], next=link)


@router.get("/results/{case_id}")
def get_result(
    run_id: RunId,
    case_id: CaseId,
    workspace: CurrentWorkspace,
    store: StoreDep,
    epoch: Epoch = 0,
) -> ResultOut:
    """One result by case id (and epoch), with every score and attempt, and what was
    changed in it to store it (``stored_changes``)."""
    get_workspace_run(store, workspace.id, run_id)
    result = store.get_result(run_id, case_id, epoch)
    return ResultOut.of(result, stored_changes_of(store, [result.id]).get(result.id))


EvidenceName = Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")]


@router.get(
    "/results/{case_id}/evidence/{name}",
    response_class=Response,
    responses={
        200: {
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            "description": "The blob's bytes",
        }
    },
)
def get_evidence_blob(
    run_id: RunId,
    case_id: CaseId,
    name: EvidenceName,
    workspace: CurrentWorkspace,
    store: StoreDep,
    epoch: Epoch = 0,
) -> Response:
    """A blob of a result's provider evidence (``screenshot``: a browser page's PNG),
    stored once by content hash and named in ``provider_evidence.screenshot.sha256``."""
    get_workspace_run(store, workspace.id, run_id)
    result = store.get_result(run_id, case_id, epoch)
    evidence = result.provider_evidence
    ref = evidence.blobs().get(name) if evidence is not None else None
    if ref is None:
        raise NotFoundError(f"result {case_id!r} of run {run_id} has no {name!r} evidence")
    media_type, data = store.get_blob(ref.sha256)
    return Response(
        data,
        media_type=media_type if media_type.startswith("image/") else "application/octet-stream",
        headers={
            "Cache-Control": "private, max-age=31536000, immutable",
            "ETag": f'"{ref.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@router.post("/feedback", status_code=201)
def add_feedback(
    run_id: RunId, body: FeedbackIn, workspace: CurrentWorkspace, store: StoreDep
) -> Feedback:
    """Append human feedback on one result of a finished run (never edits earlier rows;
    a correction is a new row). The run's ``feedback_scores`` is refreshed."""
    get_workspace_run(store, workspace.id, run_id)
    return record_feedback(
        store,
        run_id,
        body.case_id,
        epoch=body.epoch,
        name=body.name,
        score=body.score,
        label=body.label,
        comment=body.comment,
        author=body.author,
    )


@router.get("/feedback")
def get_feedback(
    run_id: RunId,
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> FeedbackList:
    """Feedback rows of a run, oldest first, with the per-criterion summary."""
    get_workspace_run(store, workspace.id, run_id)
    rows = list_feedback(store, run_id)
    summary = [
        CriterionFeedbackOut(
            name=c.name,
            mean=c.mean,
            n=c.n,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            scale=None if c.scale is None else list(c.scale),
            authors=c.authors,
            labels=c.labels,
            reviewed=c.reviewed,
            awaiting=c.awaiting,
        )
        for c in feedback_summary(store, run_id).values()
    ]
    more = offset + limit < len(rows)
    return FeedbackList(
        items=rows[offset : offset + limit],
        next=next_url(request, offset=offset + limit) if more else None,
        summary=summary,
    )


@router.get("/metrics")
def get_metrics(run_id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> RunMetrics:
    """The run's aggregates (overall, per scorer, per section, latency, cost), with
    confidence intervals where they apply; empty until the run finishes."""
    run = get_workspace_run(store, workspace.id, run_id).run
    rows = [
        MetricOut.model_validate({k: v for k, v in row.items() if k != "run_id"})
        for row in store.get_metrics(run_id)
    ]
    return RunMetrics(run_id=run.id, summary=run.metrics, metrics=rows)


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "Every result as EvalRun interchange records, one per (case, scorer)",
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
)
def export_run(
    run_id: RunId,
    workspace: CurrentWorkspace,
    store: StoreDep,
    format: ExportFormat = "jsonl",
) -> StreamingResponse:
    """The same records and formats as ``evalbook export`` (human feedback included),
    streamed as they are read."""
    run = get_workspace_run(store, workspace.id, run_id).run
    human = human_verdicts(store, run.id)
    return StreamingResponse(
        _stream(store, run, format, human),
        media_type=_MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{run.id}.{format}"'},
    )


class _Stopped(Exception):
    """The client went away: the writer stops."""


class _Pipe:
    """A text file whose writes reach the response in ~64 KiB chunks, through a bounded
    queue (the writer waits while the client is slow)."""

    def __init__(self, chunks: queue.Queue[object], stop: threading.Event) -> None:
        self.chunks = chunks
        self.stop = stop
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()
        return len(text)

    def flush(self) -> None:
        if self.parts:
            self._put("".join(self.parts))
            self.parts, self.size = [], 0

    def _put(self, item: object) -> None:
        while True:
            if self.stop.is_set():
                raise _Stopped
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


_END = object()


def _stream(store: Store, run: RunRecord, fmt: str, human: HumanFeedback) -> Iterator[bytes]:
    """The export of ``run``: the CLI's own writer, run in a thread of its own."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    stop = threading.Event()
    pipe = _Pipe(chunks, stop)

    def produce() -> None:
        try:
            write(run, store.iter_results(run.id), fmt, cast(TextIO, pipe), human, store)
            pipe.flush()
            pipe._put(_END)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the response, which ends the stream
            with contextlib.suppress(_Stopped):
                pipe._put(exc)

    thread = threading.Thread(target=produce, name=f"export-{run.id}", daemon=True)
    thread.start()
    try:
        while True:
            item = chunks.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str)
            yield item.encode("utf-8")
    finally:
        stop.set()
        thread.join(timeout=5)
