"""``/prompts``: the workspace's prompts; ``/prompts/{name}``: its versions, a word diff
between any two (``?a=1&b=3``), its runs a keyset page at a time (``?cursor=…``) and a
pass-rate sparkline of its completed runs (each point opens its run).
JSON twins: ``GET /api/prompts``, ``GET /api/prompts/{name}/versions``,
``GET /api/runs?prompt={name}``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from evalbook.analysis.compare.diffs import word_diff
from evalbook.core.suite import PromptVersion
from evalbook.errors import NotFoundError
from evalbook.server.deps import decode_run_cursor, run_cursor
from evalbook.server.state import server_state
from evalbook.server.web.access import PageViewer
from evalbook.server.web.charts import pass_rate_trend
from evalbook.server.web.templating import render
from evalbook.storage.catalog import prompt_refs
from evalbook.storage.runs import RunFilter, list_workspace_runs

router = APIRouter()

__all__ = ["prompt_text", "router"]

RUNS = 25
TREND = 50
Name = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$")]
VersionNo = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


def prompt_text(body: PromptVersion) -> str:
    """A prompt version as the text a diff compares: the system message, then each
    message's role and content (an image as ``[image sha256…]``)."""
    parts = []
    if body.system:
        parts.append(f"[system]\n{body.system}")
    for message in body.messages:
        if isinstance(message.content, str):
            content = message.content
        else:
            content = "\n".join(
                getattr(p, "text", None) or f"[image {getattr(p, 'sha256', '')[:12]}]"
                for p in message.content
            )
        parts.append(f"[{message.role}]\n{content}")
    return "\n\n".join(parts)


@router.get("/prompts")
async def prompts_page(request: Request, viewer: PageViewer) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    refs = await run_in_threadpool(prompt_refs, store, viewer.workspace.id)
    by_name: dict[str, list[Any]] = {}
    for ref in refs:
        by_name.setdefault(ref.name, []).append(ref)
    context = {
        "prompts": sorted(by_name.items()),
        "title": "Prompts",
        "nav": "prompts",
        "json_url": "/api/prompts",
    }
    return render(request, "prompts.html", context, viewer=viewer)


@router.get("/prompts/{name}")
async def prompt_page(
    request: Request,
    viewer: PageViewer,
    name: Name,
    a: VersionNo = None,
    b: VersionNo = None,
    cursor: Cursor = None,
) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def load() -> dict[str, Any]:
        refs = prompt_refs(store, workspace_id, name)
        if not refs:
            raise NotFoundError(f"no prompt {name!r} in this workspace")
        bodies = {
            ref.version: store.get_prompt_version(name, ref.version, workspace_id=workspace_id)
            for ref in refs
        }
        numbers = sorted(bodies)
        old = a if a is not None else (numbers[-2] if len(numbers) > 1 else numbers[-1])
        new = b if b is not None else numbers[-1]
        for v in (old, new):
            if v not in bodies:
                raise NotFoundError(f"prompt {name!r} has no version {v} in this workspace")
        found = list_workspace_runs(
            store,
            workspace_id,
            RunFilter(prompt=name),
            limit=RUNS + 1,
            after=decode_run_cursor(cursor),
        )
        done = list_workspace_runs(
            store, workspace_id, RunFilter(prompt=name, status="completed"), limit=TREND
        )
        return {
            "refs": refs,
            "bodies": {v: prompt_text(body) for v, body in bodies.items()},
            "a": old,
            "b": new,
            "diff": word_diff(prompt_text(bodies[old]), prompt_text(bodies[new])),
            "runs": found[:RUNS],
            "more_runs": found[RUNS - 1].run if len(found) > RUNS else None,
            "trend": pass_rate_trend([f.run for f in reversed(done)]),
        }

    context = await run_in_threadpool(load)
    base = f"/prompts/{quote(name, safe='')}"
    last = context.pop("more_runs")
    keep = {"a": str(context["a"]), "b": str(context["b"])}
    context.update(
        name=name,
        base=base,
        cursor=cursor,
        first_runs_url=f"{base}?{urlencode(keep)}#history",
        next_runs_url=(
            f"{base}?{urlencode({**keep, 'cursor': run_cursor(last.created_at, last.id)})}#history"
            if last is not None
            else None
        ),
        runs_api=f"/api/runs?{urlencode({'prompt': name})}",
        title=f"Prompt {name}",
        nav="prompts",
        json_url=f"/api/prompts/{quote(name, safe='')}/versions",
    )
    return render(request, "prompt.html", context, viewer=viewer)
