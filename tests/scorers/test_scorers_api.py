"""The curated public surface of evalbook.scorers."""

from __future__ import annotations

import evalbook.scorers as scorers


def test_all_is_exactly_the_public_api() -> None:
    assert sorted(scorers.__all__) == sorted(
        [
            "SCORERS",
            "ScoreContext",
            "ScoreOutcome",
            "Scorer",
            "ScorerSet",
            "build_scorer",
            "parse_scorer_spec",
            "scorer",
            "spec_to_dict",
        ]
    )
    for name in scorers.__all__:
        assert getattr(scorers, name) is not None


def test_builtins_are_registered_as_entry_points() -> None:
    names = set(scorers.SCORERS.names())
    builtins = {"equals", "contains", "icontains", "regex", "is-json", "json-schema"}
    builtins |= {"numeric", "choice", "non-empty", "python"}
    assert builtins <= names
    for name in builtins:
        assert issubclass(scorers.SCORERS.get(name), scorers.Scorer)
