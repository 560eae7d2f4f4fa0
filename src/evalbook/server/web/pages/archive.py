"""The archive layer of ``/runs``: finished runs, filtered and searched, a keyset page at
a time; archive/unarchive; select two or more to compare. Every filter is in the URL.
JSON twin: ``GET /api/runs?finished=true&…`` (the same filter and query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from evalbook.core.run import RunStatus
from evalbook.errors import UserError
from evalbook.server.deps import decode_run_cursor, run_cursor
from evalbook.server.state import server_state
from evalbook.server.web.access import CheckedViewer
from evalbook.server.web.templating import render
from evalbook.storage.runs import (
    RunFilter,
    WorkspaceRun,
    get_workspace_run,
    list_workspace_runs,
    set_archived,
)
from evalbook.storage.store import Store

router = APIRouter()

PAGE = 50
_TEXT = r"^[^\x00-\x1f\x7f]*$"
Text = Annotated[str | None, Query(max_length=200, pattern=_TEXT)]
_FINISHED = ("completed", "failed", "canceled")


@dataclass(frozen=True)
class ArchiveQuery:
    """The archive's filters as the URL carries them (empty strings mean "any")."""

    suite: str = ""
    prompt: str = ""
    alias: str = ""
    model: str = ""
    status: str = ""
    tag: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    archived: bool = False
    cursor: str = ""

    def params(self, **changes: str) -> dict[str, str]:
        values = {
            "suite": self.suite,
            "prompt": self.prompt,
            "alias": self.alias,
            "model": self.model,
            "status": self.status,
            "tag": self.tag,
            "since": self.since,
            "until": self.until,
            "q": self.q,
            "archived": "1" if self.archived else "",
            "cursor": self.cursor,
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}

    def url(self, **changes: str) -> str:
        query = urlencode(self.params(**changes))
        return "/runs" + (f"?{query}" if query else "") + "#archive"

    def api_url(self) -> str:
        values = self.params(cursor="")
        api: dict[str, str] = {"finished": "true"}
        for name in ("suite", "prompt", "alias", "model", "status", "tag", "q"):
            if name in values:
                api[name] = values[name]
        if self.archived:
            api["archived"] = "true"
        if self.since:
            api["created_after"] = self.since
        if self.until:
            api["created_before"] = self.until
        return "/api/runs?" + urlencode(api)

    @property
    def active(self) -> bool:
        return bool(self.params(cursor="", archived=""))


def _day(text: str, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{field}: use a date like 2026-05-25, got {text!r}") from None


def run_filter(query: ArchiveQuery) -> RunFilter:
    """The store's filter for the archive's URL (``until`` includes its whole day)."""
    if query.status and query.status not in _FINISHED:
        raise UserError(f"status: one of {', '.join(_FINISHED)}, got {query.status!r}")
    since = _day(query.since, "since")
    until = _day(query.until, "until")
    return RunFilter(
        suite_id=query.suite or None,
        prompt=query.prompt or None,
        alias=query.alias or None,
        model=query.model or None,
        status=query.status or None,
        tag=query.tag or None,
        q=query.q or None,
        finished=True,
        created_after=datetime.combine(since, time(), UTC) if since else None,
        created_before=(
            datetime.combine(until + timedelta(days=1), time(), UTC) if until else None
        ),
        archived=query.archived,
    )


def archive_page(
    store: Store, workspace_id: str, query: ArchiveQuery
) -> tuple[list[WorkspaceRun], str | None]:
    """One page of the archive and the next page's URL."""
    found = list_workspace_runs(
        store,
        workspace_id,
        run_filter(query),
        limit=PAGE + 1,
        after=decode_run_cursor(query.cursor or None),
    )
    page = found[:PAGE]
    more = None
    if len(found) > PAGE:
        last = page[-1].run
        more = query.url(cursor=run_cursor(last.created_at, last.id))
    return page, more


def archive_query(
    suite: Text = None,
    prompt: Text = None,
    alias: Text = None,
    model: Text = None,
    status: Text = None,
    tag: Text = None,
    since: Text = None,
    until: Text = None,
    q: Text = None,
    archived: Annotated[str | None, Query(max_length=5)] = None,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")] = None,
) -> ArchiveQuery:
    """The archive's URL parameters (a dependency)."""
    return ArchiveQuery(
        suite=(suite or "").strip(),
        prompt=(prompt or "").strip(),
        alias=(alias or "").strip(),
        model=(model or "").strip(),
        status=(status or "").strip(),
        tag=(tag or "").strip(),
        since=(since or "").strip(),
        until=(until or "").strip(),
        q=(q or "").strip(),
        archived=archived in ("1", "true", "on"),
        cursor=cursor or "",
    )


async def _toggle(request: Request, viewer: CheckedViewer, run_id: str, archived: bool) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def change() -> WorkspaceRun:
        found = get_workspace_run(store, workspace_id, run_id)
        if archived and not found.run.status.finished:
            raise UserError(f"run {run_id} is {found.run.status.value}; archive it once finished")
        set_archived(store, run_id, archived)
        return get_workspace_run(store, workspace_id, run_id)

    found = await run_in_threadpool(change)
    if request.headers.get("HX-Request") == "true":
        context = {"item": found, "moved": True}
        return render(request, "_archive_row.html", context, viewer=viewer)
    # Back where the button was (the archive, the inspector): a page of this server only.
    back = urlsplit(request.headers.get("referer") or "")
    here = back.netloc in ("", request.headers.get("host")) and back.path.startswith("/")
    target = back.path + (f"?{back.query}" if back.query else "") if here else "/runs#archive"
    return RedirectResponse(target, status_code=303)


@router.post("/runs/{run_id}/archive")
async def archive_run(request: Request, viewer: CheckedViewer, run_id: str) -> Response:
    return await _toggle(request, viewer, run_id, True)


@router.post("/runs/{run_id}/unarchive")
async def unarchive_run(request: Request, viewer: CheckedViewer, run_id: str) -> Response:
    return await _toggle(request, viewer, run_id, False)


STATUSES = [s.value for s in RunStatus if s.finished]
