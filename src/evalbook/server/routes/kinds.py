"""Generation kinds and model tiers (seed 004): what an input's ``_kind`` may name, and
which model each tier currently is.

``POST /api/kinds`` defines a workspace's own kind (a changed body is a new version, an
unchanged one is answered 200 with the existing version); a workspace kind shadows a
built-in of the same name for that workspace only. Scorers are checked like a suite's
(nothing that runs code or reads the server's files).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from evalbook.core.kind import GenerationKind, KindMessage
from evalbook.errors import NotFoundError, UnknownNameError
from evalbook.prompts.kinds import KINDS, find_kind
from evalbook.providers.tiers import load_tiers
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.routes._common import StoreDep
from evalbook.server.schemas.kinds import KindIn, KindOut, TierOut
from evalbook.server.schemas.policy import check_suite_data
from evalbook.storage.kinds import latest_kinds, save_kind
from evalbook.suites import load_suite_from_dict

router = APIRouter(tags=["kinds"])

KindName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[a-z][a-z0-9_.-]*$")]


def _out(kind: GenerationKind, source: str) -> KindOut:
    return KindOut.model_validate(
        {**kind.model_dump(mode="json"), "messages": kind.case_messages(), "source": source}
    )


@router.get("/api/kinds")
def list_kinds(workspace: CurrentWorkspace, store: StoreDep) -> list[KindOut]:
    """Every kind an input may name here: the workspace's own (newest versions), then the
    built-in and plugin kinds they do not shadow."""
    own = latest_kinds(store, workspace.id)
    out = [_out(kind, "workspace") for kind in own.values()]
    out += [_out(KINDS.get(name), "builtin") for name in KINDS.names() if name not in own]
    return out


@router.get("/api/kinds/{name}")
def get_kind(name: KindName, workspace: CurrentWorkspace, store: StoreDep) -> KindOut:
    """One kind by name (the workspace's own first)."""
    own = latest_kinds(store, workspace.id)
    try:
        kind = find_kind(name, own)
    except UnknownNameError as exc:
        raise NotFoundError(str(exc)) from None
    return _out(kind, "workspace" if name in own else "builtin")


@router.post(
    "/api/kinds",
    status_code=201,
    responses={200: {"model": KindOut, "description": "Unchanged: the existing version"}},
)
def create_kind(
    body: KindIn, response: Response, workspace: CurrentWorkspace, store: StoreDep
) -> KindOut:
    """Define (or version) a workspace kind; its scorers are checked like a suite's."""
    kind = GenerationKind(
        **body.model_dump(exclude={"messages"}),
        messages=[KindMessage(**m.model_dump()) for m in body.messages],
    )
    probe = {
        "id": "kind-check",
        "prompt": "-",
        "scorers": kind.scorers,
        "cases": [{"id": "c", "vars": {}, "messages": kind.case_messages()}],
    }
    check_suite_data(probe)
    load_suite_from_dict(probe, source=f"<kind {kind.name}>")  # scorer specs build
    saved, created = save_kind(store, workspace.id, kind)
    if not created:
        response.status_code = 200
    return _out(saved, "workspace")


@router.get("/api/tiers")
def list_tiers(workspace: CurrentWorkspace) -> list[TierOut]:
    """The server's model tiers and what each maps to now (``tier:NAME`` as a model)."""
    return [TierOut(name=name, model=config.spec) for name, config in load_tiers().items()]
