"""promptfoo assertions → evalbook scorer specs.

Most promptfoo assertion types have an evalbook scorer with the same meaning; the table
below maps them, with promptfoo's defaults made explicit (``levenshtein`` passes on at
most 5 edits, ``similar`` at cosine 0.75, ``rouge-n`` at 0.75). ``not-`` negates exactly
as in promptfoo; ``weight`` and ``metric`` (our ``name``) carry over. What has no
equivalent (``javascript``, ``python``, ``select-best``, the RAG and moderation graders,
a ``transform`` that is real code) becomes an ``unsupported`` scorer holding the
original, which errors on every case, and a note at its file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from evalbook.importers._model import ImportReport
from evalbook.importers.promptfoo._javascript import javascript_equivalent
from evalbook.suites.yaml_lines import plain

__all__ = ["AssertMapper", "Spec", "parse_csv_assertion", "transform_extractors"]

Spec = dict[str, Any]

#: The default grader when a config names none (promptfoo picks one by the API keys set).
DEFAULT_GRADER = "openai:gpt-4.1-mini"

_CODE_TYPES = {"javascript", "python", "ruby", "webhook"}
_NO_EQUIVALENT = {
    "select-best": "it ranks the outputs of several prompts or providers; use `evalbook pairwise`",
    "max-score": "it ranks the outputs of several prompts or providers; use `evalbook pairwise`",
    "finish-reason": "evalbook does not record the provider's finish reason",
    "is-valid-openai-tools-call": "evalbook providers return text, not tool calls",
    "is-valid-openai-function-call": "evalbook providers return text, not function calls",
    "is-valid-function-call": "evalbook providers return text, not function calls",
    "tool-call-f1": "evalbook providers return text, not tool calls",
    "perplexity": "evalbook does not record token log-probabilities",
    "perplexity-score": "evalbook does not record token log-probabilities",
    "moderation": "evalbook has no moderation scorer",
    "classifier": "evalbook has no Hugging Face classifier scorer",
    "answer-relevance": "evalbook has no answer-relevance grader",
    "context-faithfulness": "evalbook cases have no retrieval context",
    "context-recall": "evalbook cases have no retrieval context",
    "context-relevance": "evalbook cases have no retrieval context",
    "conversation-relevance": "evalbook has no multi-turn conversation grader",
    "g-eval": "evalbook's llm-judge has no G-Eval chain-of-thought form",
    "pi": "evalbook has no Pi scorer",
    "guardrails": "evalbook does not read a provider's guardrail verdicts",
    "similar:dot": "evalbook's embedding similarity is cosine only",
    "similar:euclidean": "evalbook's embedding similarity is cosine only",
    "trace-span-count": "evalbook does not record traces",
    "trace-span-duration": "evalbook does not record traces",
    "trace-error-spans": "evalbook does not record traces",
}
_THRESHOLD_SCORED = {"similar", "bleu", "rouge-n", "levenshtein", "llm-rubric", "latency", "cost"}

# output.trim() / JSON.parse(output).a.b / output.split('\n')[0] … as extractors
_JSON_PATH = re.compile(r"^JSON\.parse\(\s*output\s*\)((?:\.[A-Za-z_]\w*|\[\d+\])*)$")
#: output.a.b: promptfoo's output is an object when the provider answers JSON (a
#: json_schema response_format, an HTTP provider's parsed body); ours is its text.
_FIELD_PATH = re.compile(r"^output((?:\.[A-Za-z_]\w*|\[\d+\])+)$")
_FIRST_LINE = re.compile(r"^\.split\(\s*(['\"])\\n\1\s*\)\[0\]$")
_LAST_LINE = re.compile(
    r"^\.split\(\s*(['\"])\\n\1\s*\)(?:\.pop\(\)|\.at\(\s*-1\s*\)|\.slice\(\s*-1\s*\)\[0\])$"
)
_METHODS = {".trim()": "strip", ".toLowerCase()": "lower", ".toUpperCase()": "upper"}
#: Properties of a JavaScript string: ``output.length`` is a number, not a field.
_STRING_PROPS = {"length"}


def transform_extractors(expr: Any) -> list[Any] | None:
    """Extractors equal to a promptfoo ``transform`` expression, or None when it is code
    we cannot read as an extraction (a function, a file, a replace…): ``output`` with
    ``.trim()``, ``.toLowerCase()``, ``.toUpperCase()`` in any order, then optionally
    ``.split('\\n')[0]`` (or its last line); ``JSON.parse(output).a.b``; ``output.a.b``."""
    if not isinstance(expr, str):
        return None
    text = expr.strip().rstrip(";").strip()
    text = re.sub(r"^return\s+", "", text)
    found = _JSON_PATH.match(text)
    if found:
        return [{"json-path": "$" + found.group(1)}]
    found = _FIELD_PATH.match(text)
    if found and not any(m in text for m in ("(", ")")):
        first = re.match(r"\.([A-Za-z_]\w*)", found.group(1))
        if first is None or first.group(1) not in _STRING_PROPS:
            return [{"json-path": "$" + found.group(1)}]
    if not text.startswith("output"):
        return None
    rest = text[len("output") :]
    out: list[Any] = []
    while rest:
        method = next((m for m in _METHODS if rest.startswith(m)), None)
        if method is None:
            break
        out.append(_METHODS[method])
        rest = rest[len(method) :]
    if _FIRST_LINE.match(rest):
        out.append("first-line")
    elif _LAST_LINE.match(rest):
        out.append("last-line")  # its last non-blank line, as first-line is its first
    elif rest:
        return None
    return out


@dataclass
class AssertMapper:
    """Maps the assertions of one config; counts and notes go to ``report``.

    ``templates`` are the config's ``assertionTemplates`` (for ``$ref``); ``grader`` is
    the judge model spec for model-graded assertions; ``load_value`` reads a
    ``file://`` value (relative to the config).
    """

    report: ImportReport
    templates: dict[str, Any] = field(default_factory=dict)
    grader: Any = DEFAULT_GRADER
    load_value: Callable[[str, str], str] | None = None
    #: Map every ``assert-set`` as one ``assert-set`` scorer (within a test that has a
    #: threshold, where a set counts once in the weighted mean), not as its assertions.
    nest_sets: bool = False

    def map_list(
        self,
        raw: Any,
        file: str,
        line: int | None,
        *,
        transform: Any = None,
        grader: Any = None,
        item_lines: list[int] | None = None,
    ) -> list[Spec]:
        """Specs for an ``assert`` list (lines of its items when known)."""
        if raw is None:
            return []
        if not isinstance(raw, list):
            from evalbook.errors import SuiteError

            raise SuiteError("assert: must be a list of assertions", location=_loc(file, line))
        specs: list[Spec] = []
        lines = item_lines or getattr(raw, "item_lines", None) or []
        for i, item in enumerate(raw):
            item_line = lines[i] if i < len(lines) else line
            specs.extend(self.map_one(item, file, item_line, transform=transform, grader=grader))
        return specs

    def map_one(
        self,
        raw: Any,
        file: str,
        line: int | None,
        *,
        transform: Any = None,
        grader: Any = None,
        weight: float = 1.0,
    ) -> list[Spec]:
        from evalbook.errors import SuiteError

        if isinstance(raw, dict) and "$ref" in raw:
            raw = self._resolve_ref(raw, file, line)
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            raise SuiteError(
                "an assertion needs a 'type' (e.g. {type: contains, value: x}),"
                f" got {plain(raw)!r}",
                location=_loc(file, line),
            )
        data = plain(raw)
        kind: str = data["type"]
        if kind == "assert-set":
            return self._assert_set(raw, data, file, line, transform, grader, weight)
        self.report.assertions += 1
        negated = kind.startswith("not-")
        base = kind[4:] if negated else kind
        value = data.get("value")
        from_file = isinstance(value, str) and value.startswith("file://")
        if from_file and base not in _CODE_TYPES and self.load_value is not None:
            value = self.load_value(value, _loc(file, line))
        local_transform = data.get("transform", None)
        extract: list[Any] = []
        for expr, what in (
            # latency and cost do not read the output, so no transform changes them
            (None if base in ("latency", "cost") else transform, "the test's options.transform"),
            (local_transform, "transform"),
        ):
            if expr is None:
                continue
            found = transform_extractors(expr)
            if found is None:
                return [
                    self._unsupported(
                        data,
                        file,
                        line,
                        f"{what} {str(expr).strip()!r} is code, not an extraction evalbook"
                        " can express (strip, first-line, JSON.parse(output).path)",
                    )
                ]
            extract.extend(found)
        if base == "javascript" and isinstance(value, str) and not from_file:
            equivalent = javascript_equivalent(value)
            t = data.get("threshold")
            if "?" in value and t is not None and not (isinstance(t, (int, float)) and 0 < t <= 1):
                equivalent = None  # a score of 1 or 0 against this threshold: not the bound
            if equivalent is not None:
                kind, value, more = equivalent
                extract.extend(more)
                if kind.startswith("not-"):
                    negated, kind = not negated, kind[4:]
                self.report.note(
                    file, line, "javascript",
                    f"{value_text(data.get('value'))} read as {kind.lstrip('_')}"
                    + (" (characters are code points, not UTF-16 units)"
                       if kind == "_length-chars" else "")
                    + (f" of the answer's JSON at {more[0]['json-path']} (a value that is"
                       " not text compared as its JSON)" if more else ""),
                    mapped=True,
                )  # fmt: skip
                base, data = kind, {**data, "type": kind, "value": value}
        reason = self._why_not(base, data, value)
        if reason is not None:
            if base in _CODE_TYPES and from_file and self.load_value is not None:
                # keep the code to port, not just its path
                data = {**data, "source": self.load_value(value, _loc(file, line))}
            return [self._unsupported(data, file, line, reason)]
        spec = self._map(base, data, value, grader or self.grader, file, line)
        if spec is not None and _reads_vars_object(value):
            self.report.note(
                file, line, f"{kind} value",
                "promptfoo renders an assertion value with the test's vars by name"
                " ({{ city }}): {{ vars.city }} is empty text there (a contains of it"
                " errors); kept as written, so the case errors naming 'vars': write"
                " {{ city }}",
            )  # fmt: skip
        if spec is None:
            return [self._unsupported(data, file, line, f"{base!r} has no evalbook equivalent")]
        if negated:
            spec["type"] = "not-" + spec["type"]
        w = float(data.get("weight", 1.0)) * weight
        if w != 1.0 and w != 0:
            spec["weight"] = w
        if data.get("metric"):
            spec["name"] = str(data["metric"])
        if extract:
            spec["extract"] = extract
        self.report.assertions_mapped += 1
        if w == 0:
            # promptfoo: a weight of 0 is a metric-only assertion that cannot fail the
            # test: a set that always passes and weighs nothing, its score kept by name
            spec = {"type": "assert-set", "threshold": 0.0, "weight": 0.0, "value": [spec]}
        return [spec]

    # -- the mapping -----------------------------------------------------------------------

    def _why_not(self, base: str, data: dict[str, Any], value: Any) -> str | None:
        if base in _CODE_TYPES:
            return (
                f"evalbook does not run {base} from a config; its source is kept in"
                " `original` for porting to a python scorer (`python: module:function`)"
            )
        if base in _NO_EQUIVALENT:
            return _NO_EQUIVALENT[base]
        if base in ("contains-json", "is-xml", "is-html", "is-sql", "contains-sql") and (
            value is not None
        ):
            return f"{base} with a value (a schema or table list) has no evalbook equivalent"
        if base in ("latency", "cost") and data.get("threshold") is None:
            return f"{base} needs a threshold (promptfoo refuses it without one too)"
        if data.get("provider") is not None and base not in _GRADED:
            return f"{base} with its own 'provider' has no evalbook equivalent"
        return None

    def _map(
        self, base: str, data: dict[str, Any], value: Any, grader: Any, file: str, line: int | None
    ) -> Spec | None:
        threshold = data.get("threshold")
        if base == "equals":
            if isinstance(value, dict | list):
                return {"type": "json-path", "path": "$", "value": value}
            return {"type": "equals", "value": _text(value), "strip": False}
        if base in ("contains", "icontains", "starts-with", "regex"):
            spec: Spec = {"type": base, "value": _text(value)}
            if base == "starts-with":
                spec["strip"] = False
            return spec
        if base in ("contains-any", "contains-all", "icontains-any", "icontains-all"):
            needles = value if isinstance(value, list) else _split_commas(value)
            spec = {"type": "contains", "value": [_text(v) for v in needles]}
            spec["mode"] = "any" if base.endswith("-any") else "all"
            if base.startswith("i"):
                spec["case_sensitive"] = False
            return spec
        if base == "is-json":
            if value is None or value is False or value == "":
                return {"type": "is-json"}  # promptfoo checks a schema only when one is given
            return {"type": "json-schema", "value": _schema(value)}
        if base in ("contains-json", "is-sql", "is-xml", "is-html"):
            return {"type": base}
        if base == "levenshtein":
            limit = int(threshold) if threshold is not None else 5
            return {"type": "levenshtein", "value": _text(value), "max_distance": limit}
        if base in ("rouge-n", "rouge-l"):
            self.report.note(
                file,
                line,
                base,
                "ROUGE from rouge-score (ASCII tokens) rather than promptfoo's js-rouge;"
                " scores can differ slightly",
                mapped=True,
            )
            kind = "rouge-1" if base == "rouge-n" else "rouge-l"
            return _with_threshold({"type": kind, "value": _text(value)}, threshold, 0.75)
        if base == "bleu":
            self.report.note(
                file,
                line,
                "bleu",
                "sacrebleu sentence BLEU rather than promptfoo's own; scores can differ",
                mapped=True,
            )
            return _with_threshold({"type": "bleu", "value": _text(value)}, threshold, 0.5)
        if base in ("latency", "cost"):
            if threshold is None:
                return None
            return {"type": base, "value": threshold}
        if base == "_length-chars":  # a javascript `output.length < N`
            return {"type": "length", "unit": "chars", **value}
        if base == "word-count":
            if isinstance(value, dict):
                return {
                    "type": "length",
                    "unit": "words",
                    **{k: value[k] for k in ("min", "max") if k in value},
                }
            return {"type": "length", "unit": "words", "min": int(value), "max": int(value)}
        if base == "similar":
            self.report.note(
                file,
                line,
                "similar",
                "cosine similarity of local all-MiniLM-L6-v2 embeddings, not the"
                " provider's embedding model",
                mapped=True,
            )
            spec = {"type": "embedding-similarity", "value": value}
            return _with_threshold(spec, threshold, 0.75)
        if base in _GRADED:
            return self._graded(base, data, value, grader)
        return None

    def _graded(self, base: str, data: dict[str, Any], value: Any, grader: Any) -> Spec:
        judge = _judge(data.get("provider"), grader)
        threshold = data.get("threshold")
        if base == "factuality":
            spec: Spec = {
                "type": "llm-judge",
                "value": _text(value),
                "judge": judge,
                "criteria": [
                    {
                        "name": "factuality",
                        "description": (
                            "The output is factually consistent with the reference answer:"
                            " it may add or omit detail but must not contradict it."
                        ),
                        "scale": [0, 1],
                        "reference": True,
                    }
                ],
            }
            return spec
        text = _text(value)
        if "{{" in text or "{%" in text:
            # The rubric reads the case's variables: the value form renders it per case.
            spec = {"type": "llm-judge", "value": text, "judge": judge}
            if threshold is not None:
                spec["threshold"] = threshold
            return spec
        name = "closedqa" if base == "model-graded-closedqa" else "rubric"
        spec = {
            "type": "llm-judge",
            "judge": judge,
            "criteria": [{"name": name, "description": text, "scale": [0, 1]}],
        }
        if threshold is not None:
            spec["threshold"] = threshold
        return spec

    # -- structure -------------------------------------------------------------------------

    def _assert_set(
        self,
        raw: Any,
        data: dict[str, Any],
        file: str,
        line: int | None,
        transform: Any,
        grader: Any,
        weight: float,
    ) -> list[Spec]:
        children = raw.get("assert") if isinstance(raw, dict) else None
        nested = data.get("threshold") is not None or self.nest_sets
        if data.get("metric") and not nested:
            self.report.note(
                file,
                line,
                "assert-set",
                f"metric {data['metric']!r} names the set; its assertions are scored one by one",
                mapped=True,
            )
        set_weight = float(data.get("weight", 1.0)) * (1.0 if nested else weight)
        out: list[Spec] = []
        lines = getattr(children, "item_lines", None) or []
        for i, child in enumerate(children or []):
            child_line = lines[i] if i < len(lines) else line
            out.extend(
                self.map_one(
                    child,
                    file,
                    child_line,
                    transform=transform,
                    grader=grader,
                    weight=1.0 if nested else set_weight,
                )
            )
        if not nested or not out:
            return out
        # One score, the weighted mean of its assertions', as promptfoo scores a set (a
        # threshold: passing at it; none: when every assertion passes)
        spec: Spec = {"type": "assert-set", "value": out}
        if data.get("threshold") is not None:
            spec["threshold"] = float(data["threshold"])
        if set_weight * weight != 1.0:
            spec["weight"] = set_weight * weight
        if data.get("metric"):
            spec["name"] = str(data["metric"])
        return [spec]

    def _resolve_ref(self, raw: dict[str, Any], file: str, line: int | None) -> Any:
        from evalbook.errors import SuiteError

        ref = raw["$ref"]
        name = str(ref).rsplit("/", 1)[-1]
        if not str(ref).startswith("#/assertionTemplates/") or name not in self.templates:
            known = ", ".join(sorted(self.templates)) or "none"
            raise SuiteError(
                f"$ref {ref!r} names no assertion template (known: {known})",
                location=_loc(file, line),
            )
        return self.templates[name]

    def _unsupported(self, data: dict[str, Any], file: str, line: int | None, reason: str) -> Spec:
        self.report.note(file, line, str(data.get("type")), reason)
        spec: Spec = {
            "type": "unsupported",
            "tool": "promptfoo",
            "feature": str(data.get("type")),
            "location": _loc(file, line),
            "reason": reason,
            "original": data,
        }
        spec["name"] = str(data.get("metric") or data.get("type"))
        return spec


_GRADED = {"llm-rubric", "model-graded-closedqa", "factuality", "model-graded-factuality"}

# __expected cells: "[not-]type[(threshold)]: value"; anything else means "equals".
_CSV_ASSERT = re.compile(r"^(not-)?([a-z][a-z0-9-]*)(?:\((\d+(?:\.\d+)?)\))?(?::\s?(.*))?$", re.S)
_LEGACY = {"fn": "javascript", "eval": "javascript", "grade": "llm-rubric"}


def parse_csv_assertion(cell: str, known: set[str]) -> dict[str, Any]:
    """A promptfoo CSV ``__expected`` cell as an assertion mapping."""
    text = cell.strip()
    found = _CSV_ASSERT.match(text)
    if found:
        negated, kind, threshold, value = found.groups()
        kind = _LEGACY.get(kind, kind)
        if kind in known:
            out: dict[str, Any] = {"type": f"{negated or ''}{kind}"}
            if value is not None:
                out["value"] = value
            if threshold is not None:
                out["threshold"] = float(threshold)
            return out
    return {"type": "equals", "value": text}


KNOWN_TYPES = (
    {
        "equals",
        "contains",
        "icontains",
        "contains-any",
        "contains-all",
        "icontains-any",
        "icontains-all",
        "starts-with",
        "regex",
        "is-json",
        "contains-json",
        "is-sql",
        "contains-sql",
        "is-xml",
        "is-html",
        "levenshtein",
        "rouge-n",
        "rouge-l",
        "bleu",
        "latency",
        "cost",
        "word-count",
        "similar",
        "assert-set",
    }
    | _GRADED
    | _CODE_TYPES
    | set(_NO_EQUIVALENT)
)


def _schema(value: Any) -> Any:
    """A JSON schema given inline, or as JSON/YAML text (a ``file://`` value's content)."""
    if not isinstance(value, str):
        return value
    import yaml

    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        return value


#: ``{{ vars.x }}`` (or ``{% if vars.x %}``): a template reading a ``vars`` object.
_VARS_OBJECT = re.compile(r"(\{\{|\{%)[^}]*?\bvars\s*(\.|\[)")


def _reads_vars_object(value: Any) -> bool:
    texts = value if isinstance(value, list) else [value]
    return any(isinstance(t, str) and _VARS_OBJECT.search(t) for t in texts)


def _with_threshold(spec: Spec, threshold: Any, default: float) -> Spec:
    spec["threshold"] = float(threshold) if threshold is not None else default
    return spec


def _judge(provider: Any, grader: Any) -> Any:
    if provider is None:
        return grader
    from evalbook.importers.promptfoo._providers import judge_spec

    return judge_spec(provider, grader)


def _split_commas(value: Any) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def value_text(value: Any) -> str:
    one = " ".join(str(value).split())
    return repr(one if len(one) <= 60 else one[:57] + "...")


def _loc(file: str, line: int | None) -> str:
    return f"{file}:{line}" if line else file
