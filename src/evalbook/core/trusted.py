"""Models built from values we made ourselves, without validating them again.

``BaseModel.model_construct`` skips validation but still walks every field in Python (a
page of 50 runs spent most of its time there). :func:`built` takes a dict that already
holds every field, each of its declared type (a row of our own tables, an instance's
``__dict__``), and only sets it, the way ``model_construct`` ends. Never for input from
outside: that is validated.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["built"]

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


def built(cls: type[M], fields: dict[str, Any]) -> M:
    """An instance of ``cls`` holding ``fields`` (every field of ``cls``, no others)."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", set(fields))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj
