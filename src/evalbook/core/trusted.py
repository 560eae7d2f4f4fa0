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
    """An instance of ``cls`` holding ``fields`` (every field of ``cls``, no others).

    Every instance built of a class shares one set of the names of its fields as the
    fields it was given (pydantic's ``model_fields_set``: it only ever adds to it, a
    field already there, or copies it): a set for each was most of the cost of one."""
    obj = cls.__new__(cls)
    _set(obj, "__dict__", fields)
    names = _NAMES.get(cls)
    if names is None or len(names) != len(fields):
        names = _names(cls, fields)
    _set(obj, "__pydantic_fields_set__", names)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


#: Each class's field names, the set its instances share (see :func:`built`).
_NAMES: dict[type[BaseModel], set[str]] = {}


def _names(cls: type[BaseModel], fields: dict[str, Any]) -> set[str]:
    """The field names ``fields`` holds: the class's shared set when they are all of its
    fields (none left out), else a set of their own."""
    if fields.keys() != cls.model_fields.keys():
        return set(fields)
    names = _NAMES[cls] = set(fields)
    return names
