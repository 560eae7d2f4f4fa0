"""built: models made from our own values, without validating them again."""

from __future__ import annotations

from datetime import UTC, datetime

from evalbook.core import trusted
from evalbook.core.result import Result, ResultStatus
from evalbook.core.trusted import built


def fields(**changes: object) -> dict[str, object]:
    made = Result(
        id="r1",
        run_id="run",
        case_id="c1",
        status=ResultStatus.passed,
        created_at=datetime.now(UTC),
    )
    return {**made.__dict__, **changes}


def test_built_models_hold_their_fields_and_share_the_names_set() -> None:
    a, b = built(Result, fields(output="a")), built(Result, fields(output="b"))
    assert (a.output, b.output) == ("a", "b")
    assert a.model_fields_set == set(Result.model_fields)
    assert a.__pydantic_fields_set__ is b.__pydantic_fields_set__  # one set per class
    assert a == Result.model_validate(a.model_dump())
    # What pydantic does with the set changes no other instance: setting a field adds a
    # name already there; a copy gets a set of its own.
    a.output = "changed"
    copy = a.model_copy(update={"output": "copied"})
    assert copy.__pydantic_fields_set__ is not a.__pydantic_fields_set__
    assert b.model_fields_set == set(Result.model_fields) and b.output == "b"
    assert b.model_dump(exclude_unset=True) == b.model_dump()


def test_fields_left_out_get_a_set_of_their_own() -> None:
    trusted._NAMES.clear()  # as in a new process: a partial model built first
    for left_out in ("section", "tags"):
        partial = fields()
        del partial[left_out]
        model = built(Result, partial)
        assert model.model_fields_set == set(Result.model_fields) - {left_out}
    whole = built(Result, fields())
    assert whole.model_fields_set == set(Result.model_fields)
    assert model.__pydantic_fields_set__ is not whole.__pydantic_fields_set__
