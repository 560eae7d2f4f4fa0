"""Identities stay what they were: a result's id is the uuid5 it has always been, so a
resumed or re-delivered result upserts the row an older release wrote."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from evalbook.core.identity import stable_uuid

NAMESPACE = uuid.UUID("6f1c2f9e-6c55-4bb7-9b7c-3c1c7e0b4d21")


def _reference(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


def test_known_ids_do_not_change() -> None:
    # Ids as stored by earlier releases (computed with uuid.uuid5).
    assert stable_uuid("run-1", "c1", "0") == "362b712a-3fed-54ae-b17d-dc0139df5f0a"
    assert stable_uuid() == _reference()
    assert uuid.UUID(stable_uuid("a", "b")).version == 5


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",))), max_size=4))
def test_stable_uuid_is_uuid5_of_the_joined_parts(parts: list[str]) -> None:
    assert stable_uuid(*parts) == _reference(*parts)
