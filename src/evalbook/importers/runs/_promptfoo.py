"""promptfoo results (``promptfoo eval -o results.json``) → imported evalbook runs.

One run per (prompt, provider) of the file, grouped under the file's ``evalId`` as the
experiment. Cases are ``test-N`` (promptfoo's ``testIdx`` + 1), as ``evalbook import
promptfoo`` numbers them, so an imported run pairs case by case with a native run of the
imported config; the suite id is the config's (from its ``description``) unless
``--suite-id`` says otherwise. Each assertion's verdict (``gradingResult
.componentResults``) becomes a score record named by its ``metric`` (else its type), with
promptfoo's reason as the rationale; output, latency, tokens, cost and the cached flag
come along, and an ``ERROR`` result stays an error.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalbook.core.identity import content_hash
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import ResultStatus, ScoreRecord
from evalbook.core.suite import ScorerKind
from evalbook.errors import EvalbookError, SuiteError
from evalbook.executor.imported import ImportedResult, ImportedRun
from evalbook.importers._model import ImportOptions
from evalbook.importers._templates import as_sent
from evalbook.importers.promptfoo._config import suite_id_of
from evalbook.importers.promptfoo._providers import map_provider
from evalbook.suites import load_suite_from_dict

__all__ = ["parse_promptfoo_results"]

_GRADED = {"llm-rubric", "model-graded-closedqa", "factuality", "g-eval", "select-best"}
_ERROR = 2  # promptfoo's ResultFailureReason.ERROR


def parse_promptfoo_results(path: Path, suite_id: str | None) -> list[ImportedRun]:
    file = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"invalid JSON at column {exc.colno}: {exc.msg}", location=f"{file}:{exc.lineno}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SuiteError(f"cannot read results: {exc}", location=file) from exc
    block = raw.get("results") if isinstance(raw, dict) else None
    items = block.get("results", block.get("outputs")) if isinstance(block, dict) else None
    if not isinstance(items, list):
        raise SuiteError(
            "not a promptfoo results file: expected {results: {results: [...]}} as"
            " `promptfoo eval -o results.json` writes it",
            location=file,
        )
    assert isinstance(block, dict) and isinstance(raw, dict)
    config = _obj(raw.get("config"))
    version = (raw.get("metadata") or {}).get("promptfooVersion") or None
    prompts: list[Any] = block["prompts"] if isinstance(block.get("prompts"), list) else []
    sid = suite_id or suite_id_of(config, path)
    when = _timestamp(block.get("timestamp") or raw.get("createdAt"))
    groups: dict[tuple[int, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for i, item in enumerate(items):
        where = f"{file}: results[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("testIdx"), int):
            raise SuiteError("a result needs testIdx (and promptIdx, provider)", location=where)
        provider = item.get("provider")
        pid = provider.get("id") if isinstance(provider, dict) else provider
        if not isinstance(pid, str):
            raise SuiteError("a result needs its provider id", location=where)
        groups[(int(item.get("promptIdx") or 0), pid)].append((i, item))
    runs = []
    for (prompt_idx, pid), members in sorted(groups.items()):
        runs.append(_run(file, sid, prompt_idx, pid, members, prompts, version, raw, when))
    return runs


def _run(
    file: str,
    sid: str,
    prompt_idx: int,
    pid: str,
    members: list[tuple[int, dict[str, Any]]],
    prompts: list[Any],
    version: str | None,
    raw: dict[str, Any],
    when: datetime,
) -> ImportedRun:
    prompt_info = prompts[prompt_idx] if 0 <= prompt_idx < len(prompts) else {}
    template = str(prompt_info.get("raw") or members[0][1].get("prompt", {}).get("raw") or "")
    label = prompt_info.get("label") or f"prompt {prompt_idx + 1}"
    cases: dict[str, dict[str, Any]] = {}
    results: list[ImportedResult] = []
    for i, item in sorted(members, key=lambda m: m[1]["testIdx"]):
        case_id = f"test-{item['testIdx'] + 1}"
        test = _obj(item.get("testCase"))
        variables = item.get("vars") or test.get("vars") or {}
        case: dict[str, Any] = {
            "id": case_id,
            "vars": json.loads(json.dumps(variables, default=str)),
        }
        if test.get("description"):
            case["metadata"] = {"description": str(test["description"])}
        cases.setdefault(case_id, case)
        results.append(_result(file, i, case_id, item))
    name = content_hash("promptfoo-prompt", [sid, template])[:12]
    data = {
        "id": sid,
        "prompt": {"name": f"{sid}.promptfoo-{name}", "template": as_sent(template) or "-"},
        "cases": list(cases.values()),
    }
    try:
        suite = load_suite_from_dict(data, source=f"{file} (prompt {prompt_idx + 1})")
    except EvalbookError as exc:
        raise SuiteError(f"the results do not make a suite: {exc}", location=file) from exc
    mapped = map_provider(pid, ImportOptions())
    if mapped.model is not None:
        model = ModelConfig.model_validate({**mapped.model, "max_tokens": None})
    else:
        model = ModelConfig(provider="promptfoo", name=pid, max_tokens=None)
    provider_label = next(
        (m[1]["provider"].get("label") for m in members if isinstance(m[1].get("provider"), dict)),
        None,
    )
    return ImportedRun(
        suite=suite,
        model=model,
        results=results,
        tool="promptfoo",
        tool_version=version,
        source={
            "file": file,
            "eval_id": raw.get("evalId"),
            "prompt_label": label,
            "provider": pid,
            "provider_label": provider_label,
        },
        title=f"{sid} · {provider_label or pid} · {label} (promptfoo)",
        experiment_id=str(raw["evalId"]) if raw.get("evalId") else None,
        created_at=when,
    )


def _result(file: str, i: int, case_id: str, item: dict[str, Any]) -> ImportedResult:
    where = f"{file}: results[{i}]"
    response = _obj(item.get("response"))
    output = response.get("output")
    if output is not None and not isinstance(output, str):
        output = json.dumps(output)
    usage = response.get("tokenUsage") or item.get("tokenUsage") or {}
    grading = item.get("gradingResult") if isinstance(item.get("gradingResult"), dict) else None
    error = item.get("error") or response.get("error")
    is_error = bool(error) and (item.get("failureReason") in (None, _ERROR))
    scores = [] if is_error else _scores(item, grading, where)
    if is_error:
        status = ResultStatus.error
    else:
        status = ResultStatus.passed if item.get("success") else ResultStatus.failed
    prompt = item.get("prompt", {}).get("raw") if isinstance(item.get("prompt"), dict) else None
    score = item.get("score")
    return ImportedResult(
        case_id=case_id,
        status=status,
        output=output,
        scores=scores,
        prompt=prompt,
        messages=[Message(role="user", content=prompt)] if isinstance(prompt, str) else [],
        score=float(score) if isinstance(score, int | float) and not is_error else None,
        latency_ms=_number(item.get("latencyMs")),
        input_tokens=_int(usage.get("prompt")),
        output_tokens=_int(usage.get("completion")),
        cost_usd=_number(item.get("cost")),
        cached=bool(response.get("cached")),
        error_message=str(error) if is_error else None,
    )


def _scores(item: dict[str, Any], grading: dict[str, Any] | None, where: str) -> list[ScoreRecord]:
    components = (grading or {}).get("componentResults") or []
    if not components:
        passed = bool(item.get("success"))
        score = _number((grading or {}).get("score", item.get("score")))
        reason = (grading or {}).get("reason")
        scorer_id = _assertion_facts(0, {})[0]
        return [_record(scorer_id, "promptfoo", "promptfoo", {}, score, passed, reason)]
    records = []
    for n, component in enumerate(components):
        if not isinstance(component, dict):
            raise SuiteError(f"componentResults[{n}] is not an object", location=where)
        assertion = _obj(component.get("assertion"))
        kind = str(assertion.get("type") or "assertion")
        scorer_id, mapped = _assertion_facts(n, assertion)
        name = str(assertion.get("metric") or mapped or kind)
        records.append(
            _record(
                scorer_id, name, kind, assertion, _number(component.get("score")),
                bool(component.get("pass")), component.get("reason"),
            )
        )  # fmt: skip
    return records


#: :func:`_assertion_facts` by ``(position, repr of the assertion)``: a file repeats its
#: few assertions in every result, and mapping one (``_evalbook_name``) took a third of an
#: import's time. (Of values parsed from JSON, equal reprs are equal values; the same
#: assertion with its keys in another order is only a miss.)
_FACTS: dict[tuple[int, str], tuple[str, str | None]] = {}


def _assertion_facts(n: int, assertion: dict[str, Any]) -> tuple[str, str | None]:
    """The scorer id of the ``n``-th assertion of a result and its evalbook name."""
    key = (n, repr(assertion))
    facts = _FACTS.get(key)
    if facts is None:
        if len(_FACTS) >= 4096:
            _FACTS.clear()
        scorer_id = content_hash("imported-scorer", ["promptfoo", n, assertion])[:32]
        facts = _FACTS[key] = (scorer_id, _evalbook_name(assertion))
    return facts


def _record(
    scorer_id: str,
    name: str,
    kind: str,
    assertion: dict[str, Any],
    score: float | None,
    passed: bool,
    reason: Any,
) -> ScoreRecord:
    base = kind[4:] if kind.startswith("not-") else kind
    return ScoreRecord(
        scorer_id=scorer_id,
        name=name,
        type=f"promptfoo:{kind}",
        kind=ScorerKind.llm_judge if base in _GRADED else ScorerKind.heuristic,
        score=max(0.0, min(1.0, score)) if score is not None else (1.0 if passed else 0.0),
        passed=passed,
        weight=float(assertion.get("weight", 1.0) or 0.0),
        evidence={"rationale": str(reason)[:4000]} if reason else {},
        spec={"type": kind, **{k: v for k, v in assertion.items() if k != "type"}},
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    return datetime.now(UTC)


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _evalbook_name(assertion: dict[str, Any]) -> str | None:
    """The record name the scorer ``evalbook import promptfoo`` maps this assertion to
    (``contains-any`` → ``contains``), so an imported run's scores pair with a native
    run's of the imported config."""
    from evalbook.importers._model import ImportReport
    from evalbook.importers.promptfoo._asserts import AssertMapper

    if not isinstance(assertion.get("type"), str) or assertion.get("type") == "assert-set":
        return None
    try:
        specs = AssertMapper(ImportReport("promptfoo", "-")).map_one(assertion, "-", None)
    except EvalbookError:
        return None
    if not specs or specs[0]["type"] == "unsupported":
        return None
    return str(specs[0].get("name") or specs[0]["type"])
