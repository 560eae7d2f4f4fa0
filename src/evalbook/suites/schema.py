"""The published JSON Schema (draft 2020-12) of suite files.

Editors use it for completion and inline errors (``# yaml-language-server: $schema=...``),
and other tools can check a suite without evalbook. It describes the file as written,
shorthands included; the loader stays the authority (it also checks what a schema cannot:
templates, scorer names, dataset files, duplicate ids). YAML integer keys (prompt version
numbers) are strings in the JSON form the schema validates.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["SCHEMA_ID", "suite_json_schema"]

SCHEMA_ID = "https://evalbook.dev/schema/suite.json"

_STR = {"type": "string"}
_IMAGE_FIELDS = ("media_type", "data", "sha256")
_MEDIA_TYPE = {"enum": ["image/png", "image/jpeg", "image/gif", "image/webp"]}
_TAGS = {"type": "array", "items": _STR, "description": "Free-form labels for filtering."}

_MESSAGE = {
    "type": "object",
    "title": "Message",
    "description": "A chat message; text content is a Jinja template.",
    "required": ["role", "content"],
    "additionalProperties": False,
    "properties": {
        "role": {"enum": ["system", "user", "assistant"]},
        "content": {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"$ref": "#/$defs/contentPart"}},
            ]
        },
    },
}

_CONTENT_PART = {
    "title": "Content part",
    "oneOf": [
        {
            "type": "object",
            "required": ["type", "text"],
            "additionalProperties": False,
            "properties": {"type": {"const": "text"}, "text": _STR},
        },
        {
            "type": "object",
            "required": ["type", *_IMAGE_FIELDS],
            "additionalProperties": False,
            "properties": {"type": {"const": "image"}, **dict.fromkeys(_IMAGE_FIELDS, _STR)},
        },
    ],
}

_VERSION_BODY = {
    "type": "object",
    "title": "Prompt version",
    "description": "An optional system message plus messages (or `template`: one user message).",
    "additionalProperties": False,
    "properties": {
        "system": {"type": "string", "description": "System message template."},
        "messages": {"$ref": "#/$defs/messages"},
        "template": {"type": "string", "description": "Shorthand for one user message."},
    },
    "not": {"required": ["template", "messages"]},
}

_PROMPT = {
    "title": "Prompt",
    "description": "A template string (one user message), a single version, or versions.",
    "oneOf": [
        {"type": "string", "description": "One user message; prompt name = suite id."},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1},
                **_VERSION_BODY["properties"],  # type: ignore[dict-item]
                "versions": {
                    "type": "object",
                    "minProperties": 1,
                    "description": "Version number → version (or a template string).",
                    "propertyNames": {"pattern": "^[1-9][0-9]*$"},
                    "additionalProperties": {
                        "oneOf": [{"type": "string"}, {"$ref": "#/$defs/promptVersion"}]
                    },
                },
            },
            "not": {
                "anyOf": [
                    {"required": ["template", "messages"]},
                    {"required": ["versions", "template"]},
                    {"required": ["versions", "messages"]},
                    {"required": ["versions", "system"]},
                ]
            },
        },
    ],
}

_MODEL_FIELDS = {
    "provider": {"type": "string", "description": "Provider registry name (openai, local, …)."},
    "name": {"type": "string", "description": "Model name at that provider."},
    "version": {"type": ["string", "null"], "description": "Model build / version."},
    "temperature": {"type": ["number", "null"]},
    "max_tokens": {"type": ["integer", "null"], "minimum": 1},
    "system_prompt": {"type": ["string", "null"], "description": "Used when the prompt has none."},
    "seed": {"type": ["integer", "null"]},
    "stop": {"type": ["array", "null"], "items": _STR},
    "params": {"type": "object", "description": "Extra provider parameters."},
    "base_url": {"type": ["string", "null"]},
    "api_key_env": {
        "type": ["string", "null"],
        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
        "description": "NAME of the environment variable holding the key (never the key).",
    },
    "timeout_s": {"type": "number", "exclusiveMinimum": 0},
    "max_connections": {"type": ["integer", "null"], "minimum": 1},
    "rpm": {"type": ["integer", "null"], "minimum": 1, "description": "Requests per minute."},
    "tpm": {"type": ["integer", "null"], "minimum": 1, "description": "Tokens per minute."},
    "price": {
        "type": ["object", "null"],
        "description": "US dollars per million tokens.",
        "required": ["input_per_mtok", "output_per_mtok"],
        "additionalProperties": False,
        "properties": {
            "input_per_mtok": {"type": "number", "minimum": 0},
            "output_per_mtok": {"type": "number", "minimum": 0},
        },
    },
}

_MODEL = {
    "title": "Model",
    "description": "Default model: 'provider:name[@base_url]', or a model config mapping.",
    "oneOf": [
        {"type": "string", "pattern": "^[^:]+:.+$", "examples": ["openai:gpt-4o-mini"]},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {"spec": {"type": "string", "pattern": "^[^:]+:.+$"}, **_MODEL_FIELDS},
            "oneOf": [
                {
                    "required": ["spec"],
                    "not": {"anyOf": [{"required": ["provider"]}, {"required": ["name"]}]},
                },
                {"required": ["provider", "name"], "not": {"required": ["spec"]}},
            ],
        },
    ],
}

_OWN_VERSIONS = {
    "type": "array",
    "minItems": 1,
    "description": "The prompt versions this model runs (default: all the suite runs).",
    "items": {"type": "integer", "minimum": 1},
}

_MATRIX_MODEL = {
    "title": "Matrix model",
    "description": "A model of the matrix: a spec string, or a labelled model config.",
    "anyOf": [
        {"type": "string", "pattern": "^[^:]+:.+$"},
        {
            "type": "object",
            "required": ["model"],
            "additionalProperties": False,
            "properties": {
                "label": {"type": "string", "minLength": 1},
                "model": _MODEL,
                "prompt_versions": _OWN_VERSIONS,
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "label": {"type": "string", "minLength": 1},
                "spec": {"type": "string", "pattern": "^[^:]+:.+$"},
                "prompt_versions": _OWN_VERSIONS,
                **_MODEL_FIELDS,
            },
            "anyOf": [{"required": ["spec"]}, {"required": ["provider", "name"]}],
        },
    ],
}

_SCORER = {
    "title": "Scorer",
    "description": (
        "A scorer type ('non-empty', 'not-contains'), {type: value} ({contains: 'x'}),"
        " {type: {options}}, {type: value, field or option: ...}, or the full form with"
        " 'type'. Any form may add 'extract' (a list of extractors run on the output first)."
    ),
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "required": ["type"],
            "properties": {
                "type": {"type": "string"},
                "value": {"description": "The main argument (a needle, a pattern, …)."},
                "weight": {"type": "number", "minimum": 0},
                "threshold": {"type": "number"},
                "name": {"type": "string"},
                "metric": {"type": "string"},
                "config": {"type": "object"},
                "extract": {
                    "description": (
                        "Extractors applied to the output before scoring, in order:"
                        " regex, first-line, last-line, strip, lower, upper, json-path,"
                        " first-number, last-number (e.g. [{regex: 'Answer: (.*)'}, strip])."
                    )
                },
            },
            "additionalProperties": {"description": "Scorer options."},
        },
        {
            "type": "object",
            "minProperties": 1,
            "propertyNames": {"not": {"const": "type"}},
        },
    ],
}

_ASSET = {
    "title": "Image asset",
    "oneOf": [
        {
            "type": "object",
            "required": ["path"],
            "additionalProperties": False,
            "properties": {
                "path": {"type": "string", "description": "Relative to the file naming it."},
                "media_type": _MEDIA_TYPE,
            },
        },
        {
            "type": "object",
            "required": ["data", "media_type"],
            "additionalProperties": False,
            "properties": {
                "data": {"type": "string", "contentEncoding": "base64"},
                "media_type": _MEDIA_TYPE,
            },
        },
    ],
}

_CASE = {
    "type": "object",
    "title": "Case",
    "description": "One input. Without `id`, one is generated from vars/messages/expected.",
    "additionalProperties": False,
    "properties": {
        "id": {"type": ["string", "integer"], "minLength": 1},
        "vars": {"type": "object", "description": "Template variables."},
        "messages": {"$ref": "#/$defs/messages"},
        "expected": {"description": "Reference answer: any JSON value."},
        "choices": {"type": "array", "items": _STR},
        "section": {"type": "string"},
        "tags": _TAGS,
        "metadata": {"type": "object"},
        "assets": {"type": "array", "items": {"$ref": "#/$defs/asset"}},
        "scorers": {"$ref": "#/$defs/scorers"},
    },
}

_INCLUDE = {
    "type": "object",
    "title": "Dataset include",
    "description": "Cases from a JSONL or CSV file beside the suite file.",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "pattern": "\\.(jsonl|ndjson|csv)$"},
        "section": {"type": "string", "description": "For cases that have none."},
        "tags": _TAGS,
    },
}

_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "evalbook suite",
    "description": (
        "A named, versioned set of cases with a prompt, default scorers and a pass threshold."
    ),
    "type": "object",
    "required": ["id", "cases"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[a-z0-9_.-]+$", "description": "Stable suite id."},
        "name": {"type": "string", "description": "Display name (default: id)."},
        "description": {"type": ["string", "null"]},
        "version": {
            "type": ["string", "integer"],
            "description": "Suite version (stored as text).",
        },
        "threshold": {
            "type": "number",
            "minimum": 0,
            "maximum": 1,
            "description": "Run pass threshold (default 1.0).",
        },
        "model": {"$ref": "#/$defs/model"},
        "models": {
            "type": "array",
            "minItems": 1,
            "description": "Models `evalbook run` runs as one experiment (labels unique).",
            "items": _MATRIX_MODEL,
        },
        "prompt_versions": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "description": "Prompt versions `evalbook run` tries, each with every model.",
            "items": {"type": "integer", "minimum": 1},
        },
        "case_filters": {
            "type": "object",
            "description": "Case id → the model labels and prompt versions it runs with.",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "models": {"type": "array", "items": {"type": "string"}},
                    "prompt_versions": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
        "derived_metrics": {
            "type": "array",
            "description": "Run metrics computed from the sums of named scores.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "expression"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "expression": {"type": "string", "minLength": 1},
                },
            },
        },
        "prompt": {"$ref": "#/$defs/prompt"},
        "scorers": {"$ref": "#/$defs/scorers", "description": "Default scorers for every case."},
        "render_assertions": {
            "$ref": "#/$defs/scorers",
            "description": "Checked on the rendered prompt, before any model call.",
        },
        "tags": _TAGS,
        "kinds": {
            "type": "object",
            "description": "The suite's own generation kinds; a case names one in vars._kind.",
            "propertyNames": {"pattern": "^[a-z][a-z0-9_.-]{0,99}$"},
            "additionalProperties": {
                "type": "object",
                "required": ["messages"],
                "additionalProperties": False,
                "properties": {
                    "description": {"type": "string"},
                    "system": {"type": ["string", "null"]},
                    "messages": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["role", "content"],
                            "additionalProperties": False,
                            "properties": {
                                "role": {"enum": ["user", "assistant"]},
                                "content": {"type": "string", "minLength": 1},
                            },
                        },
                    },
                    "scorers": {"$ref": "#/$defs/scorers"},
                    "tier": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,39}$"},
                    "inputs": {"type": "array", "items": {"type": "string"}},
                    "version": {"type": "integer", "minimum": 1},
                },
            },
        },
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {"oneOf": [{"$ref": "#/$defs/case"}, {"$ref": "#/$defs/include"}]},
        },
    },
    "$defs": {
        "message": _MESSAGE,
        "contentPart": _CONTENT_PART,
        "messages": {"type": "array", "items": {"$ref": "#/$defs/message"}},
        "promptVersion": _VERSION_BODY,
        "prompt": _PROMPT,
        "model": _MODEL,
        "scorer": _SCORER,
        "scorers": {"type": "array", "items": {"$ref": "#/$defs/scorer"}},
        "asset": _ASSET,
        "case": _CASE,
        "include": _INCLUDE,
    },
}


def suite_json_schema() -> dict[str, Any]:
    """The JSON Schema of suite files (a fresh copy: callers may change it freely)."""
    return copy.deepcopy(_SCHEMA)
