"""Suites: register one (YAML or JSON, the suite-file form), list them, read a version.

A version is immutable: registering the same id and version again with the same content
answers 200 with what is there; with other content, 409 — add a new version instead.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from evalbook.config import render_limits
from evalbook.errors import NotFoundError
from evalbook.prompts import check_render_limits
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.dataset_upload import (
    DATASET_TYPES,
    MAX_DATASET_BYTES,
    display_name,
    register_dataset,
)
from evalbook.server.launching import latest_ref
from evalbook.server.routes._common import (
    LimitQuery,
    OffsetQuery,
    StoreDep,
    SuiteIdPath,
    next_url,
)
from evalbook.server.schemas.catalog import (
    CasePage,
    SuiteDefinitionOut,
    SuiteOut,
    SuitePage,
    SuiteVersionOut,
)
from evalbook.server.schemas.common import ErrorOut
from evalbook.server.suite_upload import JSON_TYPES, YAML_TYPES, parse_suite
from evalbook.storage.catalog import SuiteRef, register_suite, suite_cases, suite_refs

router = APIRouter(prefix="/api/suites", tags=["suites"])

_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "description": "A suite in the suite-file form (`evalbook schema` prints its"
                " JSON Schema); dataset includes and image paths are refused (no files).",
            }
        },
        "application/yaml": {"schema": {"type": "string", "description": "A suite file"}},
    },
}

SuiteVersion = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _versions(refs: list[SuiteRef]) -> list[SuiteVersionOut]:
    return [
        SuiteVersionOut(
            suite_id=r.suite_id,
            version=r.version,
            hash=r.hash,
            name=r.name,
            case_count=r.case_count,
            created_at=r.created_at,
        )
        for r in refs
    ]


def _suite_out(refs: list[SuiteRef]) -> SuiteOut:
    versions = _versions(refs)
    latest = versions[-1]
    return SuiteOut(
        id=latest.suite_id, name=latest.name, latest_version=latest.version, versions=versions
    )


@router.post(
    "",
    status_code=201,
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {"model": SuiteVersionOut, "description": "Already registered, same content"},
        409: {"model": ErrorOut, "description": "This version exists with other content"},
        415: {"model": ErrorOut, "description": "Send application/json or application/yaml"},
    },
)
async def create_suite(
    request: Request, response: Response, workspace: CurrentWorkspace, store: StoreDep
) -> SuiteVersionOut:
    """Register a suite version in the workspace (201), from the suite-file form as JSON
    or YAML. Suites sent here cannot read files or run code (see ``schemas/policy.py``)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (*JSON_TYPES, *YAML_TYPES):
        raise HTTPException(415, "send the suite as application/json or application/yaml")
    body = await request.body()
    suite = await run_in_threadpool(parse_suite, body, content_type)
    # A prompt that would take the server's memory or time is a 422 now, not a stall later.
    await run_in_threadpool(check_render_limits, suite, render_limits())
    _hash, state = await run_in_threadpool(register_suite, store, workspace.id, suite)
    if state == "conflict":
        raise HTTPException(
            409,
            f"suite {suite.id!r} version {suite.version!r} is registered here with other"
            " content; versions are immutable — give this one a new version",
        )
    if state == "exists":
        response.status_code = 200
    response.headers["Location"] = (
        f"/api/suites/{suite.id}/versions/{quote(suite.version, safe='')}"
    )
    ref = latest_ref(store, workspace.id, suite.id, suite.version)
    return _versions([ref])[0]


_DATASET_BODY = {
    "required": True,
    "content": {
        media: {
            "schema": {
                "type": "string",
                "description": "JSONL: one case per line (flat rows: `id`, `expected`,"
                " `section`, `tags`, `choices`, `metadata` are case fields, other keys"
                " are variables). CSV: a header row, then one case per row.",
            }
        }
        for media in ("application/jsonl", "text/csv")
    },
}
_VERSION = r"^[^\x00-\x1f\x7f]+$"


@router.post(
    "/{suite_id}/datasets",
    status_code=201,
    openapi_extra={"requestBody": _DATASET_BODY},
    responses={
        200: {"model": SuiteVersionOut, "description": "Already registered, same cases"},
        409: {"model": ErrorOut, "description": "This version exists with other cases"},
        413: {"model": ErrorOut, "description": "The dataset is too large"},
        415: {"model": ErrorOut, "description": "Send text/csv or application/jsonl"},
    },
)
async def upload_dataset(
    suite_id: SuiteIdPath,
    request: Request,
    response: Response,
    workspace: CurrentWorkspace,
    store: StoreDep,
    base_version: Annotated[
        str | None,
        Query(max_length=100, pattern=_VERSION, description="Default: the suite's latest"),
    ] = None,
    version: Annotated[
        str | None,
        Query(max_length=100, pattern=_VERSION, description="Default: `data-<cases hash>`"),
    ] = None,
    filename: Annotated[
        str | None, Query(max_length=200, description="Named in error messages")
    ] = None,
) -> SuiteVersionOut:
    """Register a new version of the suite whose cases are the rows of a JSONL or CSV
    dataset (the body): the suite's prompt versions, scorers and threshold over the
    dataset. A problem in a row is a 422 naming ``file:line``; the same dataset again
    answers 200 with the version it made."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    suffix = DATASET_TYPES.get(content_type)
    if suffix is None:
        raise HTTPException(415, "send the dataset as text/csv or application/jsonl")
    body = await request.body()
    if len(body) > MAX_DATASET_BYTES:
        raise HTTPException(413, f"the dataset is over {MAX_DATASET_BYTES // 2**20} MB")
    name = display_name(filename or "dataset", suffix)
    saved = await run_in_threadpool(
        lambda: register_dataset(
            store, workspace.id, suite_id, body, name, base_version=base_version, version=version
        )
    )
    if saved.ref is None:
        raise HTTPException(
            409,
            f"suite {suite_id!r} version {saved.suite.version!r} is registered here with"
            " other cases; versions are immutable — give this dataset a new version",
        )
    if saved.state == "exists":
        response.status_code = 200
    response.headers["Location"] = (
        f"/api/suites/{suite_id}/versions/{quote(saved.ref.version, safe='')}"
    )
    return _versions([saved.ref])[0]


@router.get("")
def list_suites(
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> SuitePage:
    """The workspace's suites (registered, or used by its runs), by id."""
    by_id: dict[str, list[SuiteRef]] = {}
    for ref in suite_refs(store, workspace.id):
        by_id.setdefault(ref.suite_id, []).append(ref)
    ids = sorted(by_id)
    page = ids[offset : offset + limit]
    more = offset + limit < len(ids)
    return SuitePage(
        items=[_suite_out(by_id[i]) for i in page],
        next=next_url(request, offset=offset + limit) if more else None,
    )


@router.get("/{suite_id}")
def get_suite(suite_id: SuiteIdPath, workspace: CurrentWorkspace, store: StoreDep) -> SuiteOut:
    """A suite and its versions (oldest first)."""
    refs = suite_refs(store, workspace.id, suite_id)
    if not refs:
        raise NotFoundError(f"no suite {suite_id!r} in this workspace")
    return _suite_out(refs)


@router.get("/{suite_id}/versions/{version}")
def get_suite_version(
    suite_id: SuiteIdPath,
    version: SuiteVersion,
    workspace: CurrentWorkspace,
    store: StoreDep,
    cases: Annotated[bool, Query(description="Include the cases (large suites: false)")] = True,
) -> SuiteDefinitionOut:
    """One suite version with its definition."""
    ref = latest_ref(store, workspace.id, suite_id, version)
    definition = store.get_suite(ref.hash).definition()
    if not cases:
        definition.pop("cases", None)
    return SuiteDefinitionOut(**_versions([ref])[0].model_dump(), definition=definition)


@router.get("/{suite_id}/versions/{version}/cases")
def list_suite_cases(
    suite_id: SuiteIdPath,
    version: SuiteVersion,
    request: Request,
    workspace: CurrentWorkspace,
    store: StoreDep,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> CasePage:
    """The cases of a suite version, a page at a time, in suite order."""
    ref = latest_ref(store, workspace.id, suite_id, version)
    cases = suite_cases(store, ref, offset, limit)
    more = offset + limit < ref.case_count
    return CasePage(
        items=cases,
        next=next_url(request, offset=offset + limit) if more else None,
        total=ref.case_count,
    )
