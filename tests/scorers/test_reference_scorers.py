"""exact-match, token-f1, levenshtein, fuzzy, bleu, chrf, rouge-*: checked against the
reference libraries called directly (sacrebleu, rouge-score, rapidfuzz) and against the
SQuAD evaluation script's functions, transcribed below."""

from __future__ import annotations

import collections
import os
import re
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sacrebleu
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from rapidfuzz.utils import default_process
from rouge_score.rouge_scorer import RougeScorer

from evalbook.core.suite import Case
from evalbook.scorers import ScoreContext, ScoreOutcome, build_scorer, parse_scorer_spec
from evalbook.scorers.builtin.reference import normalize_answer


def run(raw: Any, output: str | None, expected: Any = None) -> ScoreOutcome:
    spec = parse_scorer_spec(raw)
    outcome = build_scorer(spec).score(
        ScoreContext(output=output, case=Case(id="c", expected=expected), value=spec.value)
    )
    assert isinstance(outcome, ScoreOutcome)
    return outcome


def passes(raw: Any, output: str | None) -> bool:
    """The verdict, by the threshold when the scorer leaves ``passed`` unset."""
    return build_scorer(parse_scorer_spec(raw)).passes(run(raw, output))


# --- the SQuAD v2.0 evaluation script's normalisation and F1, verbatim in substance ---


def squad_normalize(s: str) -> str:
    def remove_articles(text: str) -> str:
        return re.sub(re.compile(r"\b(a|an|the)\b", re.UNICODE), " ", text)

    def white_space_fix(text: str) -> str:
        return " ".join(text.split())

    def remove_punc(text: str) -> str:
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    return white_space_fix(remove_articles(remove_punc(s.lower())))


def squad_f1(a_gold: str, a_pred: str) -> float:
    gold_toks, pred_toks = squad_normalize(a_gold).split(), squad_normalize(a_pred).split()
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return float(gold_toks == pred_toks)
    if num_same == 0:
        return 0.0
    precision, recall = num_same / len(pred_toks), num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


PAIRS = [
    ("The Eiffel Tower.", "eiffel tower"),
    ("Denver Broncos", "The Denver Broncos won"),
    ("in the year 1984!", "1984"),
    ("an apple a day", "A day, an apple"),
    ("$5 (five dollars)", "5 five dollars"),
    ("", ""),
    ("", "something"),
    ("Paris", "London"),
]


@pytest.mark.parametrize(("output", "reference"), PAIRS)
def test_normalisation_and_f1_match_squad_on_ascii(output: str, reference: str) -> None:
    # (References that SQuAD's normalisation empties are the one exception: see below.)
    assert normalize_answer(output) == squad_normalize(output)
    f1 = run({"token-f1": reference}, output).score
    assert f1 == pytest.approx(squad_f1(reference, output))
    em = run({"exact-match": reference}, output).score
    assert em == float(squad_normalize(output) == squad_normalize(reference))


@pytest.mark.parametrize(
    ("output", "reference", "em", "f1"),
    [
        # Where we part from SQuAD on purpose: its normalisation empties a reference made
        # only of articles or punctuation, and then anything that also empties matched it.
        ("A. A. A.", "A", 0.0, 0.5),
        ("the", "a", 0.0, 0.0),
        ("", "A", 0.0, 0.0),
        ("!", "?", 0.0, 0.0),
        ("a.", "A", 1.0, 1.0),  # the reference itself still matches
        ("The", "the", 1.0, 1.0),
        ("?", "?", 1.0, 1.0),
        ("«Paris»", "Paris", 1.0, 1.0),  # Unicode punctuation removed too
        ("¿Qué hora es?", "qué hora es", 1.0, 1.0),
        ("東京。", "東京", 1.0, 1.0),
        ("Straße", "strasse", 0.0, 0.0),  # lower(), not casefold, as SQuAD
        ("big red dog", "red dog", 0.0, 0.8),  # P = 2/3, R = 1
        ("red dog dog", "dog", 0.0, 0.5),  # P = 1/3, R = 1
    ],
)
def test_exact_match_and_f1_by_hand(output: str, reference: str, em: float, f1: float) -> None:
    assert run({"exact-match": reference}, output).score == em
    assert run({"token-f1": reference}, output).score == pytest.approx(f1)


def test_several_references_take_the_best() -> None:
    refs = ["Denver Broncos", "Broncos", "the Broncos of Denver"]
    outcome = run({"token-f1": refs}, "Broncos")
    assert outcome.score == 1.0
    assert outcome.rationale == "token F1 1.000 best of 3 references 'Broncos'"
    assert run("exact-match", "broncos!", expected=refs).passed
    assert run({"exact-match": ["a", "b"]}, "c").rationale == (
        "normalised 'c' does not match any of 2 references"
    )
    assert run("token-f1", "42", expected=42).score == 1.0  # numbers as text


def test_token_f1_threshold() -> None:
    assert passes({"token-f1": "red dog"}, "big red dog")  # 0.8 >= 0.5
    assert not passes({"token-f1": "red dog", "threshold": 0.9}, "big red dog")


OUTPUTS = [
    ("The cat sat on the mat.", "The cat is sitting on the mat."),
    ("the quick brown fox jumps", "A quick brown fox jumped over the lazy dog"),
    ("Le chat est sur le tapis.", "Le chat dort sur le tapis."),
    ("日本の首都は東京です", "東京は日本の首都です"),
    ("naïve café résumé", "naive cafe resume"),
    ("", "The cat sat on the mat."),
    ("identical text here", "identical text here"),
]


@pytest.mark.parametrize(("output", "reference"), OUTPUTS)
def test_bleu_and_chrf_equal_sacrebleu(output: str, reference: str) -> None:
    bleu = sacrebleu.sentence_bleu(output, [reference]).score / 100
    chrf = sacrebleu.sentence_chrf(output, [reference]).score / 100
    assert run({"bleu": reference}, output).score == pytest.approx(bleu)
    assert run({"chrf": reference}, output).score == pytest.approx(chrf)


def test_bleu_and_chrf_options_and_references() -> None:
    out, refs = "the cat sat on a mat", ["The cat sat on the mat", "a cat was on the mat"]
    want = sacrebleu.sentence_bleu(out, refs, lowercase=True, tokenize="intl").score / 100
    raw = {"bleu": {"value": refs, "lowercase": True, "tokenize": "intl"}}
    assert run(raw, out).score == pytest.approx(want)
    want = sacrebleu.sentence_chrf(out, refs, word_order=2).score / 100
    assert run({"chrf": {"value": refs, "word_order": 2}}, out).score == pytest.approx(want)
    assert run({"bleu": "x y z"}, "x y z").score == pytest.approx(1.0)


@pytest.mark.parametrize("stemmer", [False, True])
@pytest.mark.parametrize(("output", "reference"), [*OUTPUTS, ("cats running", "cat runs")])
def test_rouge_equals_rouge_score(output: str, reference: str, stemmer: bool) -> None:
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stemmer)
    want = scorer.score(reference, output)
    for name, key in (("rouge-1", "rouge1"), ("rouge-2", "rouge2"), ("rouge-l", "rougeL")):
        got = run({name: {"value": reference, "stemmer": stemmer}}, output).score
        assert got == pytest.approx(want[key].fmeasure), name


def test_rouge_stemming_and_non_latin_text() -> None:
    assert run({"rouge-1": "cat runs"}, "cats running").score == 0.0
    assert run({"rouge-1": {"value": "cat runs", "stemmer": True}}, "cats running").score == 1.0
    # rouge-score keeps ASCII letters and digits only: CJK text has no tokens.
    assert run({"rouge-1": "東京"}, "東京").score == 0.0
    refs = ["a b c", "a b"]
    assert run({"rouge-2": refs}, "a b").score == 1.0


@pytest.mark.parametrize(
    ("output", "reference"),
    [
        ("kitten", "sitting"),
        ("Paris", "Paris"),
        ("Pariss", "Paris"),
        ("naïve café", "naive cafe"),
        ("東京都", "東京"),
        ("The Quick Brown Fox", "quick brown fox the"),
        ("new york mets vs atlanta braves", "atlanta braves vs new york mets"),
    ],
)
def test_levenshtein_and_fuzzy_equal_rapidfuzz(output: str, reference: str) -> None:
    want = Levenshtein.normalized_similarity(output, reference)
    assert run({"levenshtein": reference}, output).score == pytest.approx(want)
    lower = Levenshtein.normalized_similarity(output.casefold(), reference.casefold())
    raw: Any = {"levenshtein": {"value": reference, "case_sensitive": False}}
    assert run(raw, output).score == pytest.approx(lower)
    methods = {
        "ratio": fuzz.ratio,
        "partial-ratio": fuzz.partial_ratio,
        "token-sort-ratio": fuzz.token_sort_ratio,
        "token-set-ratio": fuzz.token_set_ratio,
    }
    for method, func in methods.items():
        want = func(output, reference, processor=default_process) / 100
        raw = {"fuzzy": {"value": reference, "method": method}}
        assert run(raw, output).score == pytest.approx(want), method
    want = fuzz.ratio(output, reference) / 100
    assert run({"fuzzy": {"value": reference, "process": False}}, output).score == pytest.approx(
        want
    )


def test_levenshtein_and_fuzzy_edges() -> None:
    assert run({"levenshtein": "kitten"}, "sitting").score == pytest.approx(1 - 3 / 7)
    assert run({"levenshtein": "Paris"}, "  Paris\n").score == 1.0  # stripped
    assert passes({"levenshtein": "Paris"}, "Pariss")  # 5/6 >= 0.8
    assert not passes({"levenshtein": "Paris"}, "London")
    assert run({"levenshtein": ""}, "").score == 1.0
    assert run({"levenshtein": "abc"}, None).score == 0.0
    for method in ("ratio", "partial-ratio", "token-sort-ratio", "token-set-ratio"):
        assert run({"fuzzy": {"value": "", "method": method}}, "").score == 1.0
        assert run({"fuzzy": {"value": "!!", "method": method}}, "?").score == 1.0
        assert run({"fuzzy": {"value": "abc", "method": method}}, "").score == 0.0
    assert run({"fuzzy": ["zzz", "Paris"]}, "paris").score == 1.0


def test_exact_match_either_contains_is_openai_evals_fuzzy_match() -> None:
    spec = {"exact-match": {"value": "Paris", "either_contains": True}}
    assert passes(spec, "It is Paris.")  # the reference inside the output
    assert passes({"exact-match": {"value": "the city of Paris", "either_contains": True}}, "paris")
    assert not passes(spec, "London")
    assert not passes(spec, "")  # an empty text contains nothing and is in nothing
    assert not passes({"exact-match": "Paris"}, "It is Paris.")  # off by default


def test_levenshtein_max_distance_counts_edits() -> None:
    """promptfoo's levenshtein: pass on at most N edits, whatever the length."""
    spec = {"levenshtein": {"value": "kitten", "max_distance": 3}}
    outcome = run(spec, "sitting")
    assert outcome.passed is True and outcome.score == pytest.approx(1 - 3 / 7)
    assert outcome.evidence["details"] == {"distance": 3, "max_distance": 3}
    assert not passes({"levenshtein": {"value": "kitten", "max_distance": 2}}, "sitting")
    # a long text with few edits passes; the similarity alone would too, a short one not
    assert passes({"levenshtein": {"value": "ab", "max_distance": 2}}, "cd")
    assert not passes({"levenshtein": "ab"}, "cd")
    # the best of several references, and a spec threshold still overrides
    assert passes({"levenshtein": {"value": ["zzzzzz", "kitten"], "max_distance": 0}}, "kitten")
    assert not passes({"levenshtein": "ab", "max_distance": 2, "threshold": 0.9}, "cd")


@pytest.mark.parametrize("name", ["exact-match", "token-f1", "bleu", "chrf", "rouge-l", "fuzzy"])
def test_empty_output(name: str) -> None:
    assert run({name: "reference text"}, "").score == 0.0
    assert not passes({name: "reference text"}, "")


@pytest.mark.parametrize("name", ["exact-match", "token-f1", "bleu", "levenshtein", "starts-with"])
def test_reference_must_be_text(name: str) -> None:
    with pytest.raises(ValueError, match="needs a text reference"):
        build_scorer(parse_scorer_spec({name: {"value": {"a": 1}}}))
    scorer = build_scorer(parse_scorer_spec(name))
    with pytest.raises(ValueError, match=r"case 'c'.*needs a text reference"):
        scorer.check_case(Case(id="c", expected={"a": 1}))
    with pytest.raises(ValueError, match="empty list of references"):
        build_scorer(parse_scorer_spec({name: {"value": []}}))


def test_rouge_and_sacrebleu_need_no_download(tmp_path: Path) -> None:
    # rouge-score imports NLTK (Porter stemmer); nothing may be fetched or read from
    # NLTK's data directories at run time. A fresh interpreter with sockets disabled.
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from evalbook.scorers import build_scorer, parse_scorer_spec, ScoreContext\n"
        "from evalbook.core.suite import Case\n"
        "ctx = ScoreContext(output='cats running fast', case=Case(id='c'), value='cat runs')\n"
        "for t in ('rouge-1', 'rouge-2', 'rouge-l', 'bleu', 'chrf'):\n"
        "    spec = parse_scorer_spec({t: {'value': 'cat runs'}, **({'stemmer': True}"
        " if t.startswith('rouge') else {})})\n"
        "    print(t, build_scorer(spec).score(ctx).score)\n"
    )
    env = {**os.environ, "NLTK_DATA": str(tmp_path / "none"), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.splitlines()[0] == "rouge-1 0.8"  # cats~cat, running~runs (stemmed)
