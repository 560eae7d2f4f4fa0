"""Score one result with every scorer of its case and fold the verdicts into one.

The executor builds a :class:`ScorerSet` once per run and calls :meth:`ScorerSet.score`
for each result. Deterministic scorers run on every one of possibly 100k results, so
everything that does not depend on the result (built scorers, ids, canonical specs,
whether a value is a template) is computed once; sync scorers are called directly, and
only async ones (judges) are awaited, together.

A scorer that raises is recorded with ``error`` set, no score and ``passed`` False:
a broken scorer is never a silent 0. A spec's ``extract:`` pipeline runs here, once for
every scorer type, before the scorer sees the output; what it extracted is recorded in
``evidence.details``, and an extractor that finds nothing scores 0 (not an error).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import re
from collections import OrderedDict
from collections.abc import Awaitable, Sequence
from typing import Any

from evalbook.core.case_context import template_context
from evalbook.core.identity import content_hash
from evalbook.core.messages import Message
from evalbook.core.model_config import ModelConfig
from evalbook.core.result import Evidence, ScoreRecord
from evalbook.core.suite import Case, ScorerSpec
from evalbook.core.templating import render_string
from evalbook.core.trusted import built
from evalbook.scorers.base import ScoreContext, ScoreOutcome, Scorer, Usage, value_has_template
from evalbook.scorers.builtin.extract import Extraction
from evalbook.scorers.case_verdict import weighted_score
from evalbook.scorers.registry import build_scorer, spec_to_dict

__all__ = ["DEFAULT_SPECS", "Scored", "ScorerSet"]

#: What a suite without scorers is judged by (seed 004: non-empty output, no error).
DEFAULT_SPECS: tuple[ScorerSpec, ...] = (ScorerSpec(type="non-empty"),)

_CASE_CACHE_SIZE = 1024
_SIMPLE_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_EVIDENCE_KEYS = ("judge_model", "trace_id", "retrieved_context")
_EVIDENCE_EMPTY: dict[str, Any] = dict.fromkeys(Evidence.model_fields)
_RECORD_ORDER = tuple(ScoreRecord.model_fields)
_PREVIEW = 60
#: Outcomes whose records a scorer keeps for the results that repeat them.
_RECENT = 256


class _Entry:
    """One built scorer of a set, with everything its records repeat.

    A scorer with :meth:`~Scorer.parts` (a judge's criteria) writes one record per part,
    named ``<criterion>`` (or ``<name>.<criterion>`` when the spec is named), each with
    its own weight and threshold; ``multi`` is then True and the record methods return
    lists.
    """

    __slots__ = (
        "extraction",
        "multi",
        "part_static",
        "recent",
        "scorer",
        "scorer_id",
        "spec",
        "spec_dict",
        "static",
        "templated",
        "templates",
    )

    def __init__(self, scorer: Scorer, spec: ScorerSpec, scorer_id: str) -> None:
        self.scorer = scorer
        self.extraction: Extraction | None = scorer.extraction
        self.spec = spec
        self.scorer_id = scorer_id
        self.spec_dict = spec_to_dict(spec)
        self.templated = value_has_template(spec.value)
        # The fields every record of this scorer shares, validated once per record with
        # the varying ones (one ``model_validate`` of a dict is the cheapest pydantic path).
        self.static: dict[str, Any] = {
            "scorer_id": scorer_id,
            "name": scorer.record_name,
            "type": spec.type,
            "kind": scorer.kind,
            "weight": spec.weight,
            "threshold": scorer.threshold,
            "higher_is_better": scorer.higher_is_better,
            "spec": self.spec_dict,
        }
        self.static = _as_validated(self.static)
        self.part_static: dict[str, dict[str, Any]] = {}
        for part in scorer.parts():
            self.part_static[part.name] = {
                **self.static,
                "scorer_id": f"{scorer_id}-{content_hash('scorer-part', part.name)[:8]}",
                "name": f"{spec.name}.{part.name}" if spec.name else part.name,
                "weight": spec.weight * part.weight,
                "threshold": scorer.threshold if part.threshold is None else part.threshold,
            }
            self.part_static[part.name] = _as_validated(self.part_static[part.name])
        self.multi = bool(self.part_static)
        #: Each static's record fields in the declared order (see ``_plain_record``).
        self.templates: dict[int, dict[str, Any]] = {}
        #: The records of the outcomes seen last, by their values (see ``_plain_record``).
        self.recent: dict[tuple[Any, ...], ScoreRecord] = {}

    def context(self, base: ScoreContext, variables: dict[str, Any] | None) -> ScoreContext:
        value = self.spec.value
        if self.templated:
            if variables is None:
                variables = template_context(base.case)
            value = _render(value, base.case, variables)
        if value is base.value:
            return base
        return _derive(base, "value", value)

    def record(
        self, outcome: ScoreOutcome, extracted: str | None = None
    ) -> ScoreRecord | list[ScoreRecord]:
        if self.multi:
            return self._part_records(outcome, extracted)
        return self._record(self.static, outcome, extracted, self.scorer.passes(outcome))

    def _part_records(self, outcome: ScoreOutcome, extracted: str | None) -> list[ScoreRecord]:
        parts = outcome.parts or {}
        missing = [name for name in self.part_static if name not in parts]
        if missing:
            raise ValueError(f"scorer returned no verdict for {', '.join(missing)}")
        out = []
        usage = outcome.usage
        for i, (name, static) in enumerate(self.part_static.items()):
            part = parts[name]
            passed = _part_passes(part, static, self.scorer.higher_is_better)
            # The call's usage is charged once, to the first part.
            record = self._record(static, part, extracted, passed, usage if i == 0 else None)
            out.append(record)
        return out

    def _record(
        self,
        static: dict[str, Any],
        outcome: ScoreOutcome,
        extracted: str | None,
        passed: bool | None,
        usage: Usage | None = None,
    ) -> ScoreRecord:
        usage = usage if usage is not None else outcome.usage
        given = outcome.evidence
        if usage is None and (not given or given.keys().isdisjoint(_EVIDENCE_KEYS)):
            record = self._plain_record(static, outcome, extracted, passed)
            if record is not None:
                return record
        evidence: dict[str, Any] = {k: given[k] for k in _EVIDENCE_KEYS if k in given}
        evidence["rationale"] = outcome.rationale
        if "details" in given:
            evidence["details"] = given["details"]
        self._add_extracted(evidence, extracted)
        fields: dict[str, Any] = {
            **static,
            "score": None,
            "passed": None,
            "label": None if outcome.label is None else str(outcome.label),
            "evidence": evidence,
        }
        if usage is not None:
            fields["input_tokens"] = usage.input_tokens
            fields["output_tokens"] = usage.output_tokens
            fields["cost_usd"] = usage.cost_usd
        if outcome.score is not None:  # None: awaiting review (no score, no verdict)
            fields["score"] = _finite(outcome.score)
            fields["passed"] = passed
        return ScoreRecord.model_validate(fields)

    def _plain_record(
        self,
        static: dict[str, Any],
        outcome: ScoreOutcome,
        extracted: str | None,
        passed: bool | None,
    ) -> ScoreRecord | None:
        """The record of an outcome whose values are already of their declared types
        (what a built-in scorer gives), built without validation (it was a third of the
        CPU a cached result costs), from the scorer's fields laid out once in the
        declared order (the order validation leaves them in, that of a dump). None when a
        value needs validating (a plugin's evidence).

        A deterministic scorer gives the same few outcomes over and over (``equals``:
        "output equals the reference" or one of a few misses), so the record of an outcome
        with nothing beside its values (no details, nothing extracted) is made once and
        shared by every result that has it (the last ``_RECENT`` outcomes are kept): a
        record is a value, never changed once made. Shared, it is also pickled once per
        batch for the writer process, and rebuilt there once."""
        rationale, details = outcome.rationale, outcome.evidence.get("details")
        key: tuple[Any, ...] | None = None
        score, label = outcome.score, outcome.label
        if (
            details is None
            and extracted is None
            # (-0.0 == 0.0 and 1 == True as keys: only values of one type, no negative zero)
            and type(score) is float
            and (score or math.copysign(1.0, score) > 0)
            and (passed is None or type(passed) is bool)
            and (label is None or type(label) is str)
            and (rationale is None or type(rationale) is str)
        ):
            key = (id(static), score, passed, label, rationale)
            record = self.recent.get(key)
            if record is not None:
                return record
        if extracted is not None:  # what the spec's `extract:` pulled out, said in it
            evidence: dict[str, Any] = {"rationale": rationale, "details": details}
            self._add_extracted(evidence, extracted)
            rationale, details = evidence["rationale"], evidence["details"]
        label = None if label is None else str(label)
        score = None if score is None else _finite(score)
        if score is None:
            passed = None
        if not (
            (rationale is None or type(rationale) is str)
            and (details is None or type(details) is dict)
            and (passed is None or type(passed) is bool)
        ):
            return None
        template = self.templates.get(id(static))
        if template is None:
            template = {k: static.get(k) for k in _RECORD_ORDER}
            self.templates[id(static)] = template
        fields = template.copy()
        fields["score"] = score
        fields["passed"] = passed
        fields["label"] = label
        evidence_fields = _EVIDENCE_EMPTY.copy()
        evidence_fields["rationale"] = rationale
        evidence_fields["details"] = details
        fields["evidence"] = built(Evidence, evidence_fields)
        record = built(ScoreRecord, fields)
        if key is not None:
            if len(self.recent) >= _RECENT:
                self.recent.clear()
            self.recent[key] = record
        return record

    def _add_extracted(self, evidence: dict[str, Any], extracted: str | None) -> None:
        """Say in ``evidence`` what the spec's ``extract:`` pulled out of the output."""
        if extracted is not None and self.extraction is not None:
            shown = f"extracted {_preview(extracted)}"
            rationale = evidence["rationale"]
            evidence["rationale"] = f"{shown}: {rationale}" if rationale else shown
            details = evidence.get("details") or {}
            evidence["details"] = {
                **details,
                "extract": self.extraction.label,
                "extracted": extracted,
            }

    def not_extracted(self, why: str) -> ScoreRecord | list[ScoreRecord]:
        """Score 0 and failed, whatever the scorer's direction or threshold: the output
        did not have the shape the suite asked for."""
        label = self.extraction.label if self.extraction is not None else None
        records = [
            ScoreRecord.model_validate(
                {
                    **static,
                    "score": 0.0,
                    "passed": False,
                    "evidence": {
                        "rationale": f"{why}; nothing to score",
                        "details": {"extract": label, "extracted": None},
                    },
                }
            )
            for static in self._statics()
        ]
        return records if self.multi else records[0]

    def error_record(
        self, exc: BaseException, usage: Usage | None = None
    ) -> ScoreRecord | list[ScoreRecord]:
        if usage is None:
            usage = getattr(exc, "usage", None)
        return self.not_scored(f"{type(exc).__name__}: {exc}", usage)

    def not_scored(self, error: str, usage: Usage | None = None) -> ScoreRecord | list[ScoreRecord]:
        records = []
        for i, static in enumerate(self._statics()):
            fields = {**static, "score": None, "passed": False, "error": error}
            if usage is not None and i == 0:
                fields["input_tokens"] = usage.input_tokens
                fields["output_tokens"] = usage.output_tokens
                fields["cost_usd"] = usage.cost_usd
            records.append(ScoreRecord.model_validate(fields))
        return records if self.multi else records[0]

    def _statics(self) -> list[dict[str, Any]]:
        return list(self.part_static.values()) if self.multi else [self.static]


def _as_validated(static: dict[str, Any]) -> dict[str, Any]:
    """The fields every record of a scorer shares, as validation makes them (an int
    threshold a float, the kind an enum): checked once, so each record need not be."""
    record = ScoreRecord.model_validate({**static, "score": None, "passed": None})
    return {k: getattr(record, k) for k in static}


def _finite(value: float) -> float:
    score = float(value)
    if not math.isfinite(score):
        raise ValueError(f"scorer returned a non-finite score ({score})")
    return score


def _part_passes(part: ScoreOutcome, static: dict[str, Any], higher_is_better: bool) -> bool:
    if part.passed is not None:
        return part.passed
    score = float(part.score or 0.0)
    threshold = float(static["threshold"])
    return score >= threshold if higher_is_better else score <= threshold


def _derive(base: ScoreContext, field: str, value: Any) -> ScoreContext:
    """``dataclasses.replace(base, **{field: value})`` at a fifth of the cost: it runs per
    scorer per result, and the context is a plain frozen dataclass."""
    ctx = object.__new__(ScoreContext)
    fields = ctx.__dict__
    fields.update(base.__dict__)
    fields[field] = value
    return ctx


def _preview(text: str) -> str:
    return repr(text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…")


def _render(value: Any, case: Case, variables: dict[str, Any]) -> Any:
    if "expected" not in variables:
        variables = {"expected": case.expected, **variables}
    if isinstance(value, str):
        return _render_one(value, variables, case.id)
    return [_render_one(v, variables, case.id) if isinstance(v, str) else v for v in value]


def _render_one(source: str, variables: dict[str, Any], case_id: str) -> str:
    # ``{{ expected }}`` alone is the common case: Jinja renders it as ``str(value)``, so
    # skip building a template context (~20 µs) for it. Anything else, or a missing
    # variable (for the error message), goes through the sandbox.
    simple = _SIMPLE_VARIABLE.fullmatch(source)
    if simple is not None and simple.group(1) in variables:
        return str(variables[simple.group(1)])
    return render_string(source, variables, case_id=case_id)


def _entries(specs: Sequence[ScorerSpec], built: Sequence[Scorer]) -> tuple[_Entry, ...]:
    entries = []
    seen: dict[str, int] = {}
    for spec, scorer in zip(specs, built, strict=True):
        base_id = content_hash("scorer-spec", spec_to_dict(spec))[:12]
        seen[base_id] = seen.get(base_id, 0) + 1
        scorer_id = base_id if seen[base_id] == 1 else f"{base_id}-{seen[base_id]}"
        entries.append(_Entry(scorer, spec, scorer_id))
    return tuple(entries)


class ScorerSet:
    """The built scorers of a suite; :meth:`for_case` adds a case's own scorers.

    Typical use: ``await scorers.for_case(case).score(ctx, variables)``. A suite with no
    scorers at all uses :data:`DEFAULT_SPECS`. (:meth:`score` does not add the case's
    scorers itself, so a set of render assertions never picks up output scorers.)
    """

    def __init__(self, suite_specs: Sequence[ScorerSpec], entries: tuple[_Entry, ...]) -> None:
        self._suite_specs = tuple(suite_specs)
        self._entries = entries
        #: Whether a scorer's value is a template (rendered with the case's variables),
        #: and whether each scorer writes one record (none has parts: nothing to flatten).
        self._templated = any(e.templated for e in entries)
        self._single = not any(e.multi for e in entries)
        self._root: ScorerSet = self
        self._case_sets: OrderedDict[str, tuple[list[ScorerSpec], ScorerSet]] = OrderedDict()

    @classmethod
    def build(cls, specs: Sequence[ScorerSpec]) -> ScorerSet:
        """Build every scorer once (``ValueError`` / ``UnknownNameError`` on a bad spec)."""
        effective = tuple(specs) or DEFAULT_SPECS
        built = [build_scorer(spec) for spec in effective]
        return cls(specs, _entries(effective, built))

    @property
    def specs(self) -> list[ScorerSpec]:
        return [e.spec for e in self._entries]

    @property
    def scorers(self) -> list[Scorer]:
        return [e.scorer for e in self._entries]

    @property
    def scorer_ids(self) -> list[str]:
        return [e.scorer_id for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def for_case(self, case: Case) -> ScorerSet:
        """The set that judges ``case``: this suite's scorers plus ``case.scorers``.

        Cases without their own scorers share the suite's set; the others are cached by
        case id (bounded), reusing the suite's built scorers.
        """
        root = self._root
        if not case.scorers:
            return root
        cache = root._case_sets
        hit = cache.get(case.id)
        if hit is not None and (hit[0] is case.scorers or hit[0] == case.scorers):
            cache.move_to_end(case.id)
            return hit[1]
        own = [build_scorer(spec) for spec in case.scorers]
        suite_entries = root._entries if root._suite_specs else ()
        specs = [e.spec for e in suite_entries] + list(case.scorers)
        scorers = [e.scorer for e in suite_entries] + own
        derived = ScorerSet(root._suite_specs, _entries(specs, scorers))
        derived._root = root
        cache[case.id] = (case.scorers, derived)
        if len(cache) > _CASE_CACHE_SIZE:
            cache.popitem(last=False)
        return derived

    def judge_models(self) -> list[ModelConfig]:
        """The judge calls one scoring by this set makes: a model config per call."""
        return [m for e in self._entries for m in e.scorer.judge_models()]

    def judge_calls(
        self, ctx_base: ScoreContext, variables: dict[str, Any]
    ) -> list[tuple[ModelConfig, list[Message]]]:
        """The judge calls :meth:`score` would make for ``ctx_base``: each judge model
        with the messages it is asked (its scorer's value rendered as for scoring)."""
        calls: list[tuple[ModelConfig, list[Message]]] = []
        for entry in self._entries:
            inner = getattr(entry.scorer, "inner", None)
            if isinstance(inner, ScorerSet):  # an assert-set: its scorers' calls
                calls.extend(inner.judge_calls(entry.context(ctx_base, variables), variables))
                continue
            models = entry.scorer.judge_models()
            if models:
                messages = entry.scorer.judge_messages(entry.context(ctx_base, variables))
                calls.extend((model, messages) for model in models)
        return calls

    def not_scored(self, reason: str) -> list[ScoreRecord]:
        """A record per scorer, unscored, for a case that produced no output (it errored),
        so every (case, scorer) pair stays visible in results and exports."""
        return _flatten([e.not_scored(reason) for e in self._entries])

    def check_case(self, case: Case) -> None:
        """Raise ``ValueError`` naming the case when a scorer cannot judge it (for the
        suite loader, which adds the file and line)."""
        for entry in self.for_case(case)._entries:
            entry.scorer.check_case(case)

    async def score(
        self, ctx_base: ScoreContext, variables: dict[str, Any] | None = None
    ) -> Scored:
        """``(records, weighted score, passed)`` for one result, by exactly this set's
        scorers (call :meth:`for_case` first to add the case's own).

        ``ctx_base`` carries the output and case; each scorer sees it with ``value`` set
        to its spec's value, rendered with ``variables`` (plus ``expected``; by default
        what a template sees of the case) when it is a template. ``passed`` is True only
        when every scorer passed.
        """
        scored = self.score_now(ctx_base, variables)
        return scored if isinstance(scored, tuple) else await scored

    def score_now(
        self, ctx_base: ScoreContext, variables: dict[str, Any] | None = None
    ) -> Scored | Awaitable[Scored]:
        """:meth:`score`, returned at once when no scorer of the set had to be awaited
        (every built-in one but the judges and the code sandbox): a result's scoring
        then makes no coroutine (it runs for every case of a cached re-run); else an
        awaitable of it."""
        entries = self._entries
        if variables is None and self._templated:
            variables = template_context(ctx_base.case)
        records: list[ScoreRecord | list[ScoreRecord] | None] = []
        pending: list[_Pending] = []
        for entry in entries:
            try:
                ctx = entry.context(ctx_base, variables)
                extracted = None
                if entry.extraction is not None:  # the spec's `extract:`, for every type
                    extracted, why = entry.extraction.apply(ctx.output or "")
                    if extracted is None:
                        records.append(entry.not_extracted(str(why)))
                        continue
                    ctx = _derive(ctx, "output", extracted)
                outcome = entry.scorer.score(ctx)
                if isinstance(outcome, ScoreOutcome):
                    records.append(entry.record(outcome, extracted))
                elif inspect.isawaitable(outcome):
                    pending.append((len(records), entry, outcome, extracted))
                    records.append(None)
                else:
                    raise TypeError(f"scorer returned {type(outcome).__name__}, not ScoreOutcome")
            except Exception as exc:
                records.append(entry.error_record(exc))
        if pending:
            return _scored_after(pending, records)
        return _scored(records if self._single else _flatten(records))  # type: ignore[arg-type]


#: What scoring a result gives: its records, their weighted score, whether it passed.
Scored = tuple[list[ScoreRecord], float | None, bool]


def _scored(records: list[ScoreRecord]) -> Scored:
    """The records with their weighted score and whether none failed (``passed is
    None``, a score awaiting review, fails nothing)."""
    return records, weighted_score(records), all(r.passed is not False for r in records)


async def _scored_after(
    pending: list[_Pending], records: list[ScoreRecord | list[ScoreRecord] | None]
) -> Scored:
    await _finish(pending, records)
    return _scored(_flatten(records))


def _flatten(records: Sequence[ScoreRecord | list[ScoreRecord] | None]) -> list[ScoreRecord]:
    out: list[ScoreRecord] = []
    for r in records:
        if isinstance(r, list):
            out.extend(r)
        elif r is not None:
            out.append(r)
    return out


#: An awaited outcome: (index in the records, entry, the awaitable, extracted text).
_Pending = tuple[int, _Entry, Awaitable[ScoreOutcome], str | None]


async def _finish(
    pending: list[_Pending], records: list[ScoreRecord | list[ScoreRecord] | None]
) -> None:
    results = await asyncio.gather(*(p[2] for p in pending), return_exceptions=True)
    for (index, entry, _, extracted), result in zip(pending, results, strict=True):
        if isinstance(result, ScoreOutcome):
            try:
                records[index] = entry.record(result, extracted)
            except Exception as exc:
                records[index] = entry.error_record(exc)
        elif isinstance(result, Exception):
            records[index] = entry.error_record(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            message = f"scorer returned {type(result).__name__}, not ScoreOutcome"
            records[index] = entry.error_record(TypeError(message))
