"""Inspect logs (``.eval`` zip archives and ``.json`` logs) → imported evalbook runs.

One run per log. Cases are the samples' ids, so the run pairs with a run of the suite
``evalbook import inspect DATASET`` writes (its id is the dataset's name, as Inspect names
a file dataset after its stem); a sample's epochs are the run's epochs. Each Inspect
score becomes a score record named after its scorer: ``C`` (correct) is 1 and passes,
``I`` (incorrect) and ``N`` (no answer) are 0, ``P`` (partial) is 0.5 and does not pass,
a number is its value (passing at 1), a boolean 1 or 0; the answer and explanation are
kept as the label and rationale. Output, tokens and time come along; a sample's error
stays an error.
"""

from __future__ import annotations

import json
import zipfile
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
from evalbook.suites import load_suite_from_dict

__all__ = ["parse_inspect_log"]

_LETTERS = {"C": (1.0, True), "I": (0.0, False), "N": (0.0, False), "P": (0.5, False)}


def parse_inspect_log(path: Path, suite_id: str | None) -> list[ImportedRun]:
    file = str(path)
    header, samples = _read(path)
    if not isinstance(header, dict) or not isinstance(header.get("eval"), dict):
        raise SuiteError("not an Inspect log: no `eval` header", location=file)
    info: dict[str, Any] = header["eval"]
    if header.get("status") not in (None, "success", "error", "cancelled", "started"):
        raise SuiteError(f"unknown log status {header.get('status')!r}", location=file)
    dataset = _obj(info.get("dataset"))
    task = str(info.get("task") or "inspect-task")
    sid = suite_id or _slug(str(dataset.get("name") or task))
    cases: dict[str, dict[str, Any]] = {}
    results: list[ImportedResult] = []
    for n, sample in enumerate(samples):
        where = f"{file}: samples[{n}]"
        if not isinstance(sample, dict) or sample.get("id") is None:
            raise SuiteError("a sample needs an id", location=where)
        case_id = str(sample["id"])
        cases.setdefault(case_id, _case(case_id, sample, where))
        results.append(_result(case_id, sample, where))
    if not results:
        raise SuiteError("the log has no samples to import", location=file)
    data: dict[str, Any] = {
        "id": sid,
        "prompt": {"name": f"{sid}.inspect", "template": "{{ input }}"},
        "cases": list(cases.values()),
    }
    try:
        suite = load_suite_from_dict(data, source=file)
    except EvalbookError as exc:
        raise SuiteError(f"the samples do not make a suite: {exc}", location=file) from exc
    model = _model(str(info.get("model") or "inspect/unknown"))
    epochs = max((r.epoch for r in results), default=0) + 1
    when = _timestamp(info.get("created"))
    return [
        ImportedRun(
            suite=suite,
            model=model,
            results=results,
            tool="inspect",
            tool_version=_version(header),
            source={
                "file": file,
                "task": task,
                "task_id": info.get("task_id"),
                "run_id": info.get("run_id"),
                "status": header.get("status"),
                "epochs": epochs,
            },
            title=f"{sid} · {model.spec} (inspect {task})",
            created_at=when,
            epochs=epochs,
        )
    ]


def _read(path: Path) -> tuple[Any, list[Any]]:
    file = str(path)
    if path.suffix.lower() == ".eval":
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
                if "header.json" not in names:
                    raise SuiteError("not an Inspect .eval log: no header.json", location=file)
                header = json.loads(archive.read("header.json"))
                samples = [
                    json.loads(archive.read(name))
                    for name in sorted(names)
                    if name.startswith("samples/") and name.endswith(".json")
                ]
        except (zipfile.BadZipFile, OSError, KeyError) as exc:
            raise SuiteError(f"not a readable .eval archive: {exc}", location=file) from exc
        except json.JSONDecodeError as exc:
            raise SuiteError(f"invalid JSON inside the archive: {exc.msg}", location=file) from exc
        return header, samples
    try:
        log = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise SuiteError(
            f"invalid JSON at column {exc.colno}: {exc.msg}", location=f"{file}:{exc.lineno}"
        ) from exc
    found = log.get("samples") if isinstance(log, dict) else None
    return log, found if isinstance(found, list) else []


def _case(case_id: str, sample: dict[str, Any], where: str) -> dict[str, Any]:
    raw = sample.get("input")
    text = raw if isinstance(raw, str) else json.dumps(raw)
    case: dict[str, Any] = {"id": case_id, "vars": {"input": text}}
    target = sample.get("target")
    if isinstance(target, str) and target != "":
        case["expected"] = target
    elif isinstance(target, list) and target:
        case["expected"] = [str(t) for t in target]
    if isinstance(sample.get("choices"), list) and sample["choices"]:
        case["choices"] = [str(c) for c in sample["choices"]]
    if isinstance(sample.get("metadata"), dict) and sample["metadata"]:
        case["metadata"] = json.loads(json.dumps(sample["metadata"], default=str))
    return case


def _result(case_id: str, sample: dict[str, Any], where: str) -> ImportedResult:
    output = _obj(sample.get("output"))
    text = output.get("completion")
    choices = output.get("choices")
    if not isinstance(text, str) and isinstance(choices, list) and choices:
        text = _content(_obj(_obj(choices[0]).get("message")).get("content"))
    usage = _obj(output.get("usage"))
    if not usage and isinstance(sample.get("model_usage"), dict):
        usage = next((u for u in sample["model_usage"].values() if isinstance(u, dict)), {})
    error = sample.get("error")
    scores = [] if error else _scores(_obj(sample.get("scores")), where)
    if error:
        status = ResultStatus.error
    elif not scores:
        status = ResultStatus.passed if text else ResultStatus.failed
    else:
        status = ResultStatus.passed if all(s.passed for s in scores) else ResultStatus.failed
    prompt = sample.get("input") if isinstance(sample.get("input"), str) else None
    seconds = sample.get("total_time") or sample.get("working_time")
    mean = [s.score for s in scores if s.score is not None]
    return ImportedResult(
        case_id=case_id,
        epoch=max(int(sample.get("epoch") or 1) - 1, 0),
        status=status,
        output=text if isinstance(text, str) else None,
        scores=scores,
        prompt=prompt,
        messages=[Message(role="user", content=prompt)] if prompt else [],
        score=sum(mean) / len(mean) if mean else None,
        latency_ms=float(seconds) * 1000 if isinstance(seconds, int | float) else None,
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        error_message=str(_obj(error).get("message") or error) if error else None,
    )


def _scores(raw: dict[str, Any], where: str) -> list[ScoreRecord]:
    records = []
    for name, score in raw.items():
        if not isinstance(score, dict) or "value" not in score:
            raise SuiteError(f"score {name!r} has no value", location=where)
        value, passed = _value(score["value"], name, where)
        answer, explanation = score.get("answer"), score.get("explanation")
        records.append(
            ScoreRecord(
                scorer_id=content_hash("imported-scorer", ["inspect", name])[:32],
                name=str(name),
                type=f"inspect:{name}",
                kind=ScorerKind.llm_judge if "model_graded" in str(name) else ScorerKind.heuristic,
                score=value,
                passed=passed,
                label=str(answer)[:200] if answer is not None else None,
                evidence={"rationale": str(explanation)[:4000]} if explanation else {},
                spec={"type": f"inspect:{name}"},
            )
        )
    return records


def _value(value: Any, name: str, where: str) -> tuple[float, bool]:
    if isinstance(value, bool):
        return (1.0 if value else 0.0), value
    if isinstance(value, str) and value in _LETTERS:
        return _LETTERS[value]
    if isinstance(value, int | float):
        number = max(0.0, min(1.0, float(value)))
        return number, number >= 1.0
    raise SuiteError(
        f"score {name!r}: value {value!r} is not C/I/P/N, a number or a boolean", location=where
    )


def _content(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(_obj(p).get("text") or "") for p in content if _obj(p).get("type") == "text"
        )
    return None


def _model(name: str) -> ModelConfig:
    provider, _, model = name.partition("/")
    known = {"openai": "openai", "anthropic": "anthropic", "ollama": "ollama", "vllm": "vllm"}
    if provider in known and model:
        return ModelConfig(provider=known[provider], name=model, max_tokens=None)
    return ModelConfig(provider="inspect", name=name, max_tokens=None)


def _version(header: dict[str, Any]) -> str | None:
    packages = _obj(_obj(header.get("eval")).get("packages"))
    found = packages.get("inspect_ai")
    return str(found) if found else None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


def _slug(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.") or "inspect"


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
