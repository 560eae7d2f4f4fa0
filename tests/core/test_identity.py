"""Identities stay what they were: ``stable_uuid`` is the uuid5 it has always been (the
ids of results recorded before ordered ids, which a resumed run keeps), and a result's
id names the same item every time it is made."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from evalbook.core.identity import result_id, stable_uuid

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


def test_a_result_id_is_a_uuid8_that_sorts_a_runs_results_in_plan_order() -> None:
    ids = [result_id("run-1", seq, f"c{seq}", 0) for seq in range(300)]
    assert ids == sorted(ids) and len(set(ids)) == 300
    for rid in ids[:3]:
        parsed = uuid.UUID(rid)
        assert parsed.version == 8 and parsed.variant == uuid.RFC_4122 and str(parsed) == rid
    # One run's results share a prefix; its last 62 bits are those of the uuid5 of before.
    assert len({rid[:8] for rid in ids}) == 1
    assert result_id("run-2", 0, "c0", 0)[:8] != ids[0][:8]
    assert ids[1][19:] == stable_uuid("run-1", "c1", "0")[19:]
    # The same item always gets the same id (a re-delivered result upserts its row).
    assert result_id("run-1", 1, "c1", 0) == ids[1]
    assert result_id("run-1", 1, "c1", 1) != ids[1]


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=40),
    st.lists(st.tuples(st.text(max_size=20), st.integers(0, 3)), unique=True, max_size=30),
    st.integers(0, 2**40),
)
def test_the_items_of_a_run_never_share_an_id(
    run_id: str, items: list[tuple[str, int]], start: int
) -> None:
    """Distinct plan positions give distinct ids, also past the 2**28 the id orders."""
    ids = {result_id(run_id, start + seq, case, epoch) for seq, (case, epoch) in enumerate(items)}
    assert len(ids) == len(items)
