"""Agreement with a reference implementation: 30 real MMLU items (tests/fixtures/mmlu, MIT
licence) through evalbook and through an implementation of the same prompt and scoring
written here from the task's definition, with none of evalbook's code, on the embedded
model at temperature 0. The request bodies, the outputs and the scores must be identical.

The answer is one token (``max_tokens: 1`` after "Answer:"), as in the usual generative
MMLU set-up; one token is a letter or a word, so the reference's answer rule is short and
complete: a letter standing alone (with brackets or a full stop), or the whole text of
one choice.
"""

from __future__ import annotations

import asyncio
import csv
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

import evalbook
import evalbook.providers.local as local
from evalbook.storage.store import Store
from evalbook.suites import load_suite_from_dict

from ..conftest import FIXTURES, model_home

ITEMS = FIXTURES / "mmlu" / "high_school_geography_test.csv"
SUBJECT = "high school geography"
LETTERS = "ABCD"


def read_items() -> list[dict[str, Any]]:
    with ITEMS.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return [
        {"id": f"geo-{n:02d}", "question": r[0], "choices": r[1:5], "answer": r[5]}
        for n, r in enumerate(rows)
    ]


# --- the reference: plain Python and llama.cpp, nothing from evalbook -------------------


def reference_prompt(item: dict[str, Any]) -> str:
    lines = [
        f"The following are multiple choice questions (with answers) about {SUBJECT}.",
        "",
        item["question"],
    ]
    lines += [f"{letter}. {text}" for letter, text in zip(LETTERS, item["choices"], strict=True)]
    lines.append("Answer:")
    return "\n".join(lines)


def reference_body(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": reference_prompt(item)}],
        "seed": 0,
        "cache_prompt": False,
        "max_tokens": 1,
        "temperature": 0.0,
    }


def reference_pick(output: str, choices: list[str]) -> int | None:
    text = output.strip()
    letter = re.fullmatch(r"[*(\[]*([A-Za-z])[*)\].:]*", text)
    if letter and letter.group(1).upper() in LETTERS:
        return LETTERS.index(letter.group(1).upper())
    whole = text.rstrip(" \t\n.!?;:*\"'`").casefold()
    folded = [c.strip().casefold() for c in choices]
    if whole and folded.count(whole) == 1:
        return folded.index(whole)
    return None


def reference_outputs(model: Path, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.n_ctx = 2048
    params.n_parallel = 1
    params.verbosity = 0
    for cpu in (params.cpuparams, params.cpuparams_batch):
        cpu.n_threads = 1
        cpu.poll = 0
    params.cache_ram_mib = 0
    directory = tempfile.mkdtemp(prefix="reference-llama-")
    params.hostnames = [str(Path(directory) / "s.sock")]
    server = xllamacpp.Server(params)
    return [server.handle_chat_completions(body) for body in bodies]


# --- the test ---------------------------------------------------------------------------


def evalbook_suite(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": "mmlu-geography",
        "version": "1",
        "model": {
            "provider": "local",
            "name": "smollm2-135m",
            "temperature": 0,
            "max_tokens": 1,
            "seed": 0,
        },
        "prompt": {
            "name": "mmlu",
            "versions": {
                1: {
                    "template": "The following are multiple choice questions (with answers)"
                    f" about {SUBJECT}.\n\n{{{{ question }}}}\nA. {{{{ choices[0] }}}}\n"
                    "B. {{ choices[1] }}\nC. {{ choices[2] }}\nD. {{ choices[3] }}\nAnswer:"
                }
            },
        },
        "scorers": ["choice"],
        "cases": [
            {
                "id": it["id"],
                "vars": {"question": it["question"]},
                "choices": it["choices"],
                "expected": it["answer"],
            }
            for it in items
        ],
    }


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.timeout(1200)  # 60 generations on one thread; minutes on a loaded machine
def test_evalbook_agrees_with_a_reference_implementation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVALBOOK_HOME", str(model_home()))
    monkeypatch.setenv("EVALBOOK_LOCAL_THREADS", "1")  # the reference computes on one thread
    items = read_items()
    assert len(items) == 30

    sent: list[dict[str, Any]] = []
    complete = local._complete

    def recording(model: Any, payload: dict[str, Any]) -> dict[str, Any]:
        sent.append(payload)
        return complete(model, payload)

    monkeypatch.setattr(local, "_complete", recording)
    store = Store.open(f"sqlite:///{tmp_path / 'agreement.db'}")
    try:
        suite = load_suite_from_dict(evalbook_suite(items))
        run = asyncio.run(evalbook.arun(suite, store=store, use_cache=False, concurrency=1))
        results = {r.case_id: r for r in store.iter_results(run.id)}
    finally:
        store.close()
    assert run.counts.errored == 0

    # Identical request bodies, byte for byte in their content.
    expected_bodies = [reference_body(it) for it in items]
    by_prompt = {b["messages"][0]["content"]: b for b in sent}
    assert len(by_prompt) == len(items)
    for body in expected_bodies:
        assert by_prompt[body["messages"][0]["content"]] == body

    # Identical outputs.
    replies = reference_outputs(local.ensure_smollm2(model_home()), expected_bodies)
    outputs = [r["choices"][0]["message"]["content"] for r in replies]
    assert all(r["usage"]["completion_tokens"] <= 1 for r in replies)
    assert [results[it["id"]].output for it in items] == outputs

    # Identical scores, case by case, and the same accuracy.
    reference_scores = [
        1.0 if reference_pick(out, it["choices"]) == LETTERS.index(it["answer"]) else 0.0
        for it, out in zip(items, outputs, strict=True)
    ]
    evalbook_scores = [results[it["id"]].scores[0].score for it in items]
    assert evalbook_scores == reference_scores
    assert run.score == pytest.approx(sum(reference_scores) / len(items))
