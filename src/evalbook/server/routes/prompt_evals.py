"""Seed 003's endpoints, exactly as the seed describes them: run a suite against a prompt
version (``POST /api/prompts/{promptId}/eval/run``) and poll its status.

How the seed's words map onto evalbook:

- ``promptId``: a prompt name; the suite must use that prompt (422 otherwise).
- ``suiteId``: a suite id of the workspace (the seed's numbers are taken as text: ``1``
  is suite ``"1"``), at its latest registered version.
- ``versionNo``: the prompt version number.
- ``modelConfig``: ``{model, temperature, maxTokens, topP, seed, stop, systemPrompt,
  baseUrl, apiKeyEnv, provider}``; ``model`` is ``provider:name`` or a bare name for
  ``provider`` (default ``openai``, as in the seed's example ``gpt-4o``); none given: the
  embedded local model. Keys are never accepted, only ``apiKeyEnv`` (a variable name of
  the server's environment).
- ``testIds``: the case ids to run (numbers are taken as text).
- The answer is the pending run (202); its status reads ``pending``, ``running``,
  ``completed`` or ``failed`` (a canceled run reads ``failed``: it did not complete).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request, Response

from evalbook.core.run import RunOptions, RunRecord
from evalbook.errors import NotFoundError, UserError
from evalbook.executor.launch import RunJob, prepare_run
from evalbook.server.auth import CurrentWorkspace
from evalbook.server.launching import Queued, latest_ref, registered_suite
from evalbook.server.routes._common import IdempotencyKey, RunId, StoreDep, submit_run
from evalbook.server.schemas.evals import (
    PromptEvalRunIn,
    PromptEvalRunOut,
    PromptEvalStatusOut,
    eval_status,
    prompt_eval_model,
)
from evalbook.storage.runs import get_workspace_run

router = APIRouter(prefix="/api/prompts/{promptId}/eval", tags=["prompt evals"])

PromptId = Annotated[
    str, Path(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$", description="Prompt")
]


def _out(run: RunRecord, prompt_id: str) -> PromptEvalRunOut:
    return PromptEvalRunOut(
        id=run.id,
        promptId=prompt_id,
        suiteId=run.suite_id,
        versionNo=run.prompt_version,
        status=eval_status(run.status),
        testIds=run.options.case_ids,
        createdAt=run.created_at,
    )


@router.post(
    "/run",
    status_code=202,
    responses={200: {"model": PromptEvalRunOut, "description": "Retried with the same key"}},
)
async def run_prompt_eval(
    promptId: PromptId,
    body: PromptEvalRunIn,
    request: Request,
    response: Response,
    workspace: CurrentWorkspace,
    store: StoreDep,
    idempotency_key: IdempotencyKey = None,
) -> PromptEvalRunOut:
    """Create a ``pending`` run of the suite with prompt version ``versionNo`` and return
    it at once (202); the worker pool executes it in the background."""

    def prepare(queued: Queued) -> RunJob:
        config = prompt_eval_model(body.modelConfig)
        ref = latest_ref(store, workspace.id, str(body.suiteId), None)
        suite = registered_suite(store, workspace.id, ref)
        if suite.prompt.name != promptId:
            raise UserError(
                f"suite {suite.id!r} uses prompt {suite.prompt.name!r}, not {promptId!r}"
            )
        case_ids = None if body.testIds is None else [str(t) for t in body.testIds]
        return prepare_run(
            store,
            suite,
            model=config,
            prompt_version=body.versionNo,
            options=RunOptions(case_ids=case_ids),
            workspace_id=workspace.id,
            queued=queued,
        )

    found, created = await submit_run(request, workspace, idempotency_key, prepare)
    if not created:
        response.status_code = 200
    prompt = quote(promptId, safe="")
    response.headers["Location"] = f"/api/prompts/{prompt}/eval/runs/{found.run.id}/status"
    return _out(found.run, promptId)


@router.get("/runs/{runId}/status")
def prompt_eval_status(
    promptId: PromptId, runId: RunId, workspace: CurrentWorkspace, store: StoreDep
) -> PromptEvalStatusOut:
    """``{status}`` of a run of this prompt."""
    run = get_workspace_run(store, workspace.id, runId).run
    if run.prompt_name != promptId:
        raise NotFoundError(f"prompt {promptId!r} has no run {runId!r}")
    return PromptEvalStatusOut(status=eval_status(run.status))
