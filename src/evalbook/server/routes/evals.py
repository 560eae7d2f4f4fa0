"""Seed 004's endpoints, exactly as the seed describes them: ``POST /api/evals`` (202),
``GET /api/evals`` (the 50 most recent), ``GET /api/evals/{id}`` (the eval-run object).

How the seed's eval run maps onto evalbook:

- ``inputSet[]``: each item is one case of an ad-hoc suite ``evals-<content hash>``
  (registered in the workspace like any suite); its keys are the template's variables
  (keys that are case fields — ``id``, ``expected``, ``section`` … — stay case fields).
  Items without an ``id`` get ``input-1``, ``input-2`` … in order.
- ``templateId``: a prompt of the workspace (its latest version renders every case).
  Without one, an item with ``_kind`` renders through that generation kind (the
  workspace's own, ``POST /api/kinds``, or a built-in: ``summarize``, ``classify``,
  ``extract_json``, ``answer``, ``translate``, ``echo``, and the seed's examples
  ``borrower_summary`` and ``complaint_classify``), with the kind's scorers added;
  any other item carries the text to send as ``prompt`` (or chat ``messages``).
- The model: ``model`` when given (a spec, a config, or ``tier:NAME``); else the tier
  the inputs' kinds name (seed 004: "the runner uses the standard tier for that kind"),
  ``standard`` without kinds. Inputs whose kinds name different tiers need a ``model``.
- The pass criterion is the seed's: a case passes when the model returned non-empty
  output without an error (the suite's only scorer is ``non-empty``).
- ``name`` is the run's title and the ad-hoc suite's name; ``model`` (not in the seed)
  picks the model, default the embedded local model.
- ``status``: ``canceled`` reads ``failed`` (the seed knows pending, running,
  completed and failed; a canceled run did not complete).
- ``totalCases`` / ``passedCases``: the run's counts; ``metrics.averageInferenceMs``: the
  run's mean model latency (cached and errored cases left out, as in its metrics);
  ``metrics.results[]``: per result in plan order, ``outputPreview`` the first 200
  characters of the output, ``inferenceMs`` its latency; ``startedAt`` / ``completedAt``:
  when the run started and finished.

``GET /api/evals`` lists any run of the workspace (not only those made here), newest
first, archived ones left out; ``GET /api/evals/{id}`` reads any run of the workspace.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from evalbook.core.identity import short_hash
from evalbook.core.model_config import ModelConfig
from evalbook.core.run import RunRecord, RunStatus
from evalbook.core.suite import Suite
from evalbook.core.trusted import built
from evalbook.errors import NotFoundError, UnknownNameError, UserError
from evalbook.executor.launch import RunJob, prepare_run
from evalbook.prompts.kinds import KIND_KEY, case_of_kind, find_kind, known_kinds
from evalbook.providers.tiers import TIER_PREFIX
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.launching import Queued
from evalbook.server.routes._common import IdempotencyKey, RunId, StoreDep, submit_run
from evalbook.server.schemas.evals import (
    EvalCaseResult,
    EvalCreate,
    EvalMetrics,
    EvalOut,
    EvalSummary,
    EvalSummaryMetrics,
    eval_status,
)
from evalbook.server.schemas.models import model_or_tier
from evalbook.server.schemas.policy import check_suite_data
from evalbook.server.state import quick_read
from evalbook.storage.catalog import prompt_refs
from evalbook.storage.kinds import latest_kinds
from evalbook.storage.results import ResultPreview, result_previews
from evalbook.storage.rows import as_utc
from evalbook.storage.runs import get_workspace_run, list_run_summaries
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict
from evalbook.suites.datasets import case_from_row

router = APIRouter(prefix="/api/evals", tags=["evals"])

#: The prompt of evals made without a template: each input's ``prompt``, as is.
INLINE_PROMPT = "evals-inline"
_PREVIEW = 200
_RECENT = 50


def _prompt(store: Store, workspace_id: str, body: EvalCreate) -> dict[str, Any]:
    if body.templateId is None:
        for i, row in enumerate(body.inputSet):
            if KIND_KEY not in row and "prompt" not in row and "messages" not in row:
                raise UserError(
                    f"inputSet[{i}]: without templateId every input names a generation kind"
                    f" ({KIND_KEY}: one of {', '.join(known_kinds())}, or one of this"
                    " workspace's) or carries the text to send as 'prompt' (or 'messages')"
                )
        return {"name": INLINE_PROMPT, "template": "{{ prompt }}"}
    refs = prompt_refs(store, workspace_id, body.templateId)
    if not refs:
        raise NotFoundError(f"templateId: no prompt {body.templateId!r} in this workspace")
    latest = store.get_prompt_version(refs[-1].name, refs[-1].version, workspace_id=workspace_id)
    body_of = latest.model_dump(mode="json", exclude={"version"}, exclude_none=True)
    return {"name": body.templateId, "versions": {latest.version: body_of}}


def _cases(
    store: Store, workspace_id: str, body: EvalCreate, rows: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], dict[str, set[str]]]:
    """The cases of the inputs, and the tiers their kinds name (tier → kind names)."""
    if body.templateId is not None or not any(KIND_KEY in row for row in rows):
        return [case_from_row(row) for row in rows], {}
    own = latest_kinds(store, workspace_id)
    cases: list[dict[str, Any]] = []
    tiers: dict[str, set[str]] = {}
    for i, row in enumerate(rows):
        name = row.get(KIND_KEY)
        if name is None:
            cases.append(case_from_row(row))
            continue
        if not isinstance(name, str):
            raise UserError(f"inputSet[{i}].{KIND_KEY}: the name of a generation kind")
        try:
            kind = find_kind(name, own)
        except UnknownNameError as exc:
            raise UserError(f"inputSet[{i}].{KIND_KEY}: {exc}") from None
        missing = [key for key in kind.inputs if key not in row]
        if missing:
            raise UserError(
                f"inputSet[{i}]: generation kind {kind.name!r} needs"
                f" {', '.join(repr(m) for m in missing)} in the input"
            )
        cases.append(case_of_kind(row, kind))
        tiers.setdefault(kind.tier, set()).add(kind.name)
    return cases, tiers


def _suite(store: Store, workspace_id: str, body: EvalCreate) -> tuple[Suite, dict[str, set[str]]]:
    rows = [{"id": f"input-{i + 1}", **row} for i, row in enumerate(body.inputSet)]
    prompt = _prompt(store, workspace_id, body)
    cases, tiers = _cases(store, workspace_id, body, rows)
    identity = {"name": body.name, "prompt": prompt, "cases": cases}
    data = {
        "id": f"evals-{short_hash('evals', identity)}",
        "name": body.name,
        "prompt": prompt,
        "scorers": ["non-empty"],
        "cases": cases,
    }
    check_suite_data(data)
    return load_suite_from_dict(data, source="<inputSet>"), tiers


def _model(body: EvalCreate, tiers: dict[str, set[str]]) -> ModelConfig | str:
    """The request's model, else the one tier its kinds name (``standard`` by default)."""
    if body.model is not None:
        return model_or_tier(body.model)
    if len(tiers) > 1:
        named = "; ".join(f"{t}: {', '.join(sorted(k))}" for t, k in sorted(tiers.items()))
        raise UserError(
            f"inputSet: the kinds name different model tiers ({named}); send them as"
            " separate evals, or name one model (or tier:NAME) as 'model'"
        )
    tier = next(iter(tiers), "standard")
    return model_or_tier(f"{TIER_PREFIX}{tier}")


@router.post("", status_code=202, responses={200: {"model": EvalOut, "description": "Retried"}})
async def create_eval(
    body: EvalCreate,
    request: Request,
    response: Response,
    workspace: CurrentWorkspace,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> EvalOut:
    """Queue an eval run over ``inputSet`` (202 Accepted); poll ``GET /api/evals/{id}``
    or subscribe to the ``eval.completed`` webhook."""

    prepared: list[RunJob] = []

    def prepare(queued: Queued) -> RunJob:
        suite, tiers = _suite(store, workspace.id, body)
        config = _model(body, tiers)
        # Registered, recorded and queued in one transaction.
        job = prepare_run(
            store, suite, model=config, title=body.name, workspace_id=workspace.id,
            queued=queued, register=True,
        )  # fmt: skip
        prepared.append(job)
        return job

    found, created = await submit_run(request, workspace, idempotency_key, prepare)
    response.headers["Location"] = f"/api/evals/{found.run.id}"
    if not created:
        response.status_code = 200
        return await run_in_threadpool(eval_out, store, found.run)  # reads: not on the loop
    # The run this request made: its suite is the one just built (not read back and
    # validated again), and while it is pending it has no results to ask for.
    job = prepared[0]
    if found.run.status is RunStatus.pending and job.run.suite_hash == found.run.suite_hash:
        return eval_out(store, found.run, suite=job.suite, previews=[])
    return await run_in_threadpool(eval_out, store, found.run)


def _average(run: RunRecord) -> int | None:
    return _mean(run.metrics)


def _mean(metrics: dict[str, Any] | None) -> int | None:
    latency = (metrics or {}).get("latency_ms") or {}
    mean = latency.get("mean") if isinstance(latency, dict) else None
    return None if mean is None else round(mean)


def _summary(run: RunRecord) -> dict[str, Any]:
    return {
        "id": run.id,
        "name": run.title,
        "templateId": None if run.prompt_name == INLINE_PROMPT else run.prompt_name,
        "status": eval_status(run.status),
        "totalCases": run.counts.total,
        "passedCases": run.counts.passed,
        "startedAt": run.started_at,
        "completedAt": run.finished_at if run.status.finished else None,
        "tier": run.tier,
        "model": f"{run.model.get('provider')}:{run.model.get('name')}",
    }


def eval_out(
    store: Store,
    run: RunRecord,
    *,
    suite: Suite | None = None,
    previews: list[ResultPreview] | None = None,
) -> EvalOut:
    """The eval run ``run`` (``suite``: its suite when the caller holds it; ``previews``:
    its results' previews when the caller knows them)."""
    suite = suite if suite is not None else store.get_suite(run.suite_hash)
    cases = suite.select(run.options.case_ids)
    inputs = [
        dict(c.vars) if c.vars or not c.messages else {"messages": c.model_dump()["messages"]}
        for c in cases
    ]
    if previews is None:
        previews = result_previews(store, run.id, chars=_PREVIEW)
    results = [
        EvalCaseResult(
            passed=r.status == "passed",
            outputPreview=r.output_preview or "",
            inferenceMs=None if r.latency_ms is None else round(r.latency_ms),
        )
        for r in previews
    ]
    metrics = EvalMetrics(averageInferenceMs=_average(run), results=results)
    return EvalOut(**_summary(run), inputSet=inputs, metrics=metrics)


# Read routes: async, the database asked in one trip through the thread pool (a sync
# route costs a hop for the route and another for checking its answer), or, for a page
# on SQLite, in the loop's own thread (``quick_read``).


def _summaries(store: Store, workspace_id: str) -> list[EvalSummary]:
    # Built from the columns a summary reads, not from whole run records, and not
    # validated again: every value is one we stored (a validated page of 50 cost more
    # than asking the database for it).
    out: list[EvalSummary] = []
    for row in list_run_summaries(store, workspace_id, limit=_RECENT):
        status = RunStatus(row.status)
        model = row.model or {}
        summary = {
            "id": row.id,
            "name": row.title,
            "templateId": None if row.prompt_name == INLINE_PROMPT else row.prompt_name,
            "status": eval_status(status),
            "totalCases": row.total_count,
            "passedCases": row.passed_count,
            "metrics": built(EvalSummaryMetrics, {"averageInferenceMs": _mean(row.metrics)}),
            "startedAt": as_utc(row.started_at),
            "completedAt": as_utc(row.finished_at) if status.finished else None,
            "tier": row.tier,
            "model": f"{model.get('provider')}:{model.get('name')}",
        }
        out.append(built(EvalSummary, summary))
    return out


@router.get("")
async def list_evals(workspace: CurrentWorkspace, store: StoreDep) -> list[EvalSummary]:
    """The 50 most recent eval runs of the workspace, newest first."""
    return await quick_read(store, lambda: _summaries(store, workspace.id))


@router.get("/{id}")
async def get_eval(id: RunId, workspace: CurrentWorkspace, store: StoreDep) -> EvalOut:
    """The full eval-run row, including ``metrics.results[]``."""
    return await run_in_threadpool(
        lambda: eval_out(store, get_workspace_run(store, workspace.id, id).run)
    )
