"""``/runs/new``: the launch sheet. Pick a provider and the exact model name (or a model
config the workspace used before), a suite (or upload a suite file, or a JSONL/CSV dataset
that becomes a new version of the picked suite), the prompt version, alias, label, tags,
epochs, concurrency, a cost ceiling and optionally an LLM judge (a judge model with a
rubric or built-in criteria); see the pre-flight estimate; launch. ``?from=RUN_ID``
fills the sheet from an earlier run ("Re-run with changes").

The sheet builds the same :class:`RunCreate` body a script posts to ``POST /api/runs``
and launches it through the same function (``server/launching.py``): one way to compose
a run. JSON twin: ``GET /api/launch-options``.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from evalbook.core.suite import Suite
from evalbook.errors import (
    ConfigError,
    EvalbookError,
    NotFoundError,
    SuiteError,
    TemplateError,
)
from evalbook.server.dataset_upload import dataset_suite, display_name, register_dataset_suite
from evalbook.server.launch_options import launch_options
from evalbook.server.launching import estimate, launch
from evalbook.server.schemas.runs import RunCreate
from evalbook.server.state import server_state
from evalbook.server.suite_upload import parse_suite
from evalbook.server.web.access import CheckedViewer, PageViewer, Viewer, check_csrf
from evalbook.server.web.templating import render
from evalbook.storage.catalog import register_suite
from evalbook.storage.runs import get_workspace_run
from evalbook.storage.store import Store

router = APIRouter()

FIELDS = (
    "provider",
    "model_name",
    "base_url",
    "saved_model",
    "suite",
    "prompt_version",
    "alias",
    "label",
    "tags",
    "epochs",
    "concurrency",
    "max_cost",
    "temperature",
    "max_tokens",
    "dataset_version",
    "judge_provider",
    "judge_model",
    "judge_base_url",
    "judge_rubric",
)
#: Multi-valued fields (checkboxes), kept comma-joined in ``values``.
MULTI = ("judge_criteria",)
MAX_UPLOAD = 10 * 1024 * 1024
MAX_DATASET = 50 * 1024 * 1024


class FieldError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _prefill(found: Any) -> dict[str, str]:
    run = found.run
    model = run.model
    values = {
        "provider": str(model.get("provider", "")),
        "model_name": str(model.get("name", "")),
        "base_url": str(model.get("base_url") or ""),
        "suite": f"{run.suite_id}@{run.suite_version}",
        "prompt_version": str(run.prompt_version),
        "alias": run.alias or "",
        "label": run.label or "",
        "tags": ", ".join(run.tags),
        "epochs": str(run.options.epochs),
        "concurrency": str(run.options.concurrency),
        "max_cost": "" if run.options.max_cost is None else f"{run.options.max_cost:g}",
        "temperature": "" if model.get("temperature") is None else f"{model['temperature']:g}",
        "max_tokens": "" if model.get("max_tokens") is None else str(model["max_tokens"]),
    }
    values["saved_model"] = ""
    return values


def _judge(values: dict[str, str]) -> dict[str, Any] | None:
    """The request's ``judge`` from the sheet's judge fields (``None``: no judge)."""
    criteria = [c for c in values.get("judge_criteria", "").split(",") if c]
    rubric = values.get("judge_rubric", "")
    name = values.get("judge_model", "")
    if not (name or rubric or criteria):
        return None
    if not values.get("judge_provider"):
        raise FieldError("judge_provider", "pick the judge model's provider")
    if not name:
        raise FieldError("judge_model", "enter the judge's exact model name")
    if rubric and criteria:
        raise FieldError("judge_rubric", "give a rubric or pick criteria, not both")
    if not (rubric or criteria):
        raise FieldError("judge_rubric", "write a rubric or pick criteria for the judge")
    model: dict[str, Any] = {"provider": values["judge_provider"], "name": name}
    if values.get("judge_base_url"):
        model["base_url"] = values["judge_base_url"]
    return {"model": model, "rubric": rubric or None, "criteria": criteria or None}


#: A request field (its ``loc``, joined by dots) → the sheet's field.
_JUDGE_FIELDS = {
    "judge.model": "judge_model",
    "judge.rubric": "judge_rubric",
    "judge.criteria": "judge_criteria",
}


def _sheet(
    request: Request,
    viewer: Viewer,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    source: str | None = None,
    status: int = 200,
) -> Response:
    assert viewer.workspace is not None
    options = launch_options(server_state(request).store, viewer.workspace.id)
    context = {
        "title": "Launch a run",
        "nav": "runs",
        "json_url": "/api/launch-options" + (f"?from={source}" if source else ""),
        "values": values,
        "errors": errors or {},
        "form_error": form_error,
        "options": options,
        "source": source,
    }
    return render(request, "launch.html", context, viewer=viewer, status_code=status)


@router.get("/runs/new")
async def launch_sheet(
    request: Request,
    viewer: PageViewer,
    from_: Annotated[
        str | None, Query(alias="from", max_length=64, pattern=r"^[0-9A-Za-z_-]+$")
    ] = None,
) -> Response:
    assert viewer.workspace is not None
    values = {"epochs": "1", "concurrency": "8"}
    if from_ is not None:
        found = await run_in_threadpool(
            get_workspace_run, server_state(request).store, viewer.workspace.id, from_
        )
        values = _prefill(found)
    return _sheet(request, viewer, values, source=from_)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(values: dict[str, str], name: str, kind: type) -> Any:
    text = values.get(name, "")
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise FieldError(name, f"must be {what}, got {text!r}") from None


def _model(values: dict[str, str], saved: dict[str, dict[str, Any]]) -> Any:
    """The ``model`` of the request: a saved config (with the sheet's overrides) or the
    provider and model name."""
    overrides: dict[str, Any] = {}
    temperature = _number(values, "temperature", float)
    max_tokens = _number(values, "max_tokens", int)
    if temperature is not None:
        overrides["temperature"] = temperature
    if max_tokens is not None:
        overrides["max_tokens"] = max_tokens
    if values.get("saved_model"):
        config = saved.get(values["saved_model"])
        if config is None:
            raise FieldError("saved_model", "no such saved model config in this workspace")
        fields = {k: v for k, v in config.items() if v is not None and v != {}}
        return {**fields, **overrides}
    if not values.get("provider"):
        raise FieldError("provider", "pick a provider")
    if not values.get("model_name"):
        raise FieldError("model_name", "enter the exact model name (e.g. gpt-4o-mini)")
    model: dict[str, Any] = {"provider": values["provider"], "name": values["model_name"]}
    if values.get("base_url"):
        model["base_url"] = values["base_url"]
    return {**model, **overrides}


def _body(values: dict[str, str], saved: dict[str, dict[str, Any]]) -> RunCreate:
    suite = values.get("suite", "")
    if not suite:
        raise FieldError("suite", "pick a suite or upload a suite file")
    suite_id, _, version = suite.partition("@")
    raw: dict[str, Any] = {
        "suite_id": suite_id,
        "model": _model(values, saved),
        "epochs": _number(values, "epochs", int) or 1,
        "concurrency": _number(values, "concurrency", int) or 8,
    }
    if version:
        raw["suite_version"] = version
    prompt_version = _number(values, "prompt_version", int)
    if prompt_version is not None:
        raw["prompt_version"] = prompt_version
    max_cost = _number(values, "max_cost", float)
    if max_cost is not None:
        raw["max_cost"] = max_cost
    for name in ("alias", "label"):
        if values.get(name):
            raw[name] = values[name]
    tags = [t.strip() for t in values.get("tags", "").split(",") if t.strip()]
    if tags:
        raw["tags"] = tags
    judge = _judge(values)
    if judge is not None:
        raw["judge"] = judge
    try:
        return RunCreate.model_validate(raw, strict=False)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        field = {
            "suite_id": "suite",
            "suite_version": "suite",
            "model": "model_name",
            "cases": "suite",
            "tags": "tags",
        }.get(loc[0], loc[0])
        if loc[0] == "model" and len(loc) > 2:
            field = {"name": "model_name", "base_url": "base_url"}.get(loc[-1], loc[-1])
            field = field if field in FIELDS else "model_name"
        if loc[0] == "judge":
            field = "judge_base_url" if loc[-1] == "base_url" else "judge_model"
            field = _JUDGE_FIELDS.get(".".join(loc[:2]), field) if len(loc) == 2 else field
        raise FieldError(field, str(err["msg"])) from None


def _field_of(exc: EvalbookError) -> str:
    """Which field of the sheet a library error is about (for the message's place)."""
    text = str(exc)
    if text.startswith("judge"):
        if "base_url" in text or "host" in text:
            return "judge_base_url"
        if "criteria" in text:
            return "judge_criteria"
        return "judge_model" if isinstance(exc, ConfigError) else "judge_rubric"
    if isinstance(exc, NotFoundError | SuiteError) or text.startswith("suite"):
        return "suite"
    if isinstance(exc, TemplateError) or ("prompt" in text and "version" in text):
        return "prompt_version"
    if "max-cost" in text or "max_cost" in text:
        return "max_cost"
    if "base_url" in text or "host" in text:
        return "base_url"
    if "provider" in text:
        return "provider"
    return "model_name"


Upload = tuple[str, bytes]


async def _file(form: FormData, name: str, limit: int) -> Upload | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise FieldError(name, f"the file is over {limit // 2**20} MB")
    return upload.filename, data


async def _values(request: Request) -> tuple[dict[str, str], Upload | None, Upload | None]:
    """The sheet's fields, the uploaded suite file and dataset (name, bytes), the form
    closed."""
    form = await request.form()
    try:
        values = {name: _text(form, name) for name in FIELDS}
        for name in MULTI:
            picked = [v.strip() for v in form.getlist(name) if isinstance(v, str) and v.strip()]
            values[name] = ",".join(picked)
        suite_file = await _file(form, "suite_file", MAX_UPLOAD)
        dataset = await _file(form, "dataset_file", MAX_DATASET)
        return values, suite_file, dataset
    finally:
        await form.close()


async def _register_upload(request: Request, viewer: Viewer, upload: tuple[str, bytes]) -> str:
    assert viewer.workspace is not None
    name, data = upload
    kind = "application/json" if name.lower().endswith(".json") else "application/yaml"
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def register() -> str:
        try:
            suite = parse_suite(data, kind, source_name=name)
        except SuiteError as exc:
            raise FieldError("suite_file", str(exc)) from None
        _hash, state = register_suite(store, workspace_id, suite)
        if state == "conflict":
            raise FieldError(
                "suite_file",
                f"suite {suite.id!r} version {suite.version!r} exists here with other cases;"
                " give the file a new version",
            )
        return f"{suite.id}@{suite.version}"

    return await run_in_threadpool(register)


async def _register_dataset(
    request: Request, viewer: Viewer, values: dict[str, str], upload: Upload
) -> str:
    """Register the uploaded dataset as a version of the picked suite; ``id@version``."""
    assert viewer.workspace is not None
    if not values.get("suite"):
        raise FieldError("suite", "pick the suite whose prompt and scorers the dataset uses")
    suite_id = values["suite"].partition("@")[0]
    store = server_state(request).store
    workspace_id = viewer.workspace.id

    def register() -> str:
        # The estimate checked this very file a moment ago: its suite is kept, not parsed
        # again (a dataset of 100,000 rows takes seconds).
        suite = _dataset_suite(store, workspace_id, values, upload)
        saved = register_dataset_suite(store, workspace_id, suite)
        if saved.ref is None:
            raise FieldError(
                "dataset_version",
                f"version {saved.suite.version!r} of {suite_id!r} exists with other cases;"
                " name this dataset's version differently",
            )
        return f"{saved.ref.suite_id}@{saved.ref.version}"

    return await run_in_threadpool(register)


#: Datasets the estimate parsed lately, by (database, workspace, suite, file name and
#: content, version): the sheet sends its file again with every change, and a dataset of
#: 100,000 rows takes seconds to check.
_PARSED: OrderedDict[tuple[str, ...], Suite] = OrderedDict()
_PARSED_KEEP = 2
_PARSED_LOCK = threading.Lock()


def _dataset_suite(
    store: Store, workspace_id: str, values: dict[str, str], upload: Upload
) -> Suite:
    """The suite version the uploaded dataset would become (checked, not registered)."""
    name, data = upload
    key = (
        str(store.engine.url),
        workspace_id,
        values["suite"],
        name,
        hashlib.sha256(data).hexdigest(),
        values.get("dataset_version") or "",
    )
    with _PARSED_LOCK:
        found = _PARSED.get(key)
        if found is not None:
            _PARSED.move_to_end(key)
            return found
    suite = _parse_dataset(store, workspace_id, values, upload)
    with _PARSED_LOCK:
        _PARSED[key] = suite
        while len(_PARSED) > _PARSED_KEEP:
            _PARSED.popitem(last=False)
    return suite


def _parse_dataset(
    store: Store, workspace_id: str, values: dict[str, str], upload: Upload
) -> Suite:
    suite_id, _, base_version = values["suite"].partition("@")
    name, data = upload
    suffix = ".csv" if name.lower().endswith(".csv") else ".jsonl"
    try:
        return dataset_suite(
            store,
            workspace_id,
            suite_id,
            data,
            display_name(name, suffix),
            base_version=base_version or None,
            version=values.get("dataset_version") or None,
        )
    except (SuiteError, TemplateError) as exc:
        raise FieldError("dataset_file", str(exc)) from None


@router.post("/runs/new")
async def launch_run(request: Request, viewer: CheckedViewer) -> Response:
    assert viewer.workspace is not None
    store = server_state(request).store
    saved = {m.hash: m.config for m in launch_options(store, viewer.workspace.id).models}
    values: dict[str, str] = {}
    try:
        values, upload, dataset = await _values(request)
        if upload is not None:
            values["suite"] = await _register_upload(request, viewer, upload)
        if dataset is not None:
            values["suite"] = await _register_dataset(request, viewer, values, dataset)
        body = _body(values, saved)
        found, _created = await launch(request, viewer.workspace, body)
    except FieldError as exc:
        return _sheet(request, viewer, values, errors={exc.field: exc.message}, status=422)
    except EvalbookError as exc:
        field = _field_of(exc)
        return _sheet(request, viewer, values, errors={field: str(exc)}, status=422)
    return RedirectResponse(f"/runs?launched={found.run.id}#run-{found.run.id}", status_code=303)


@router.post("/runs/new/estimate")
async def launch_estimate(request: Request, viewer: PageViewer) -> Response:
    """The estimate panel for the sheet as filled in now (htmx swaps it in)."""
    await check_csrf(request, viewer)
    assert viewer.workspace is not None
    store = server_state(request).store
    workspace_id = viewer.workspace.id
    saved = {m.hash: m.config for m in launch_options(store, workspace_id).models}
    context: dict[str, Any] = {"estimate": None, "problem": None, "dataset": None}
    try:
        values, _upload, dataset = await _values(request)
        body = _body(values, saved)
        suite = None
        if dataset is not None:
            suite = await run_in_threadpool(_dataset_suite, store, workspace_id, values, dataset)
            context["dataset"] = suite.source
        context["estimate"] = await run_in_threadpool(
            lambda: estimate(store, workspace_id, body, suite=suite)
        )
    except FieldError as exc:
        context["problem"] = f"{exc.field.replace('_', ' ')}: {exc.message}"
    except EvalbookError as exc:
        context["problem"] = str(exc)
    return render(request, "_estimate.html", context, viewer=viewer)
