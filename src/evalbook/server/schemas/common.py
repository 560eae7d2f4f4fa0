"""Shapes every router shares: strict request bodies, pages, errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = [
    "ERRORS",
    "INT32",
    "MAX_PAGE",
    "ErrorOut",
    "Page",
    "Strict",
    "check_no_nul",
]

#: The largest page any list answers with (``limit`` is capped here).
MAX_PAGE = 200
#: Integers that reach an ``INTEGER`` column (PostgreSQL refuses larger ones).
INT32 = 2**31 - 1

T = TypeVar("T")


def check_no_nul(value: Any, where: str = "body") -> None:
    """Refuse text with NUL characters anywhere in ``value``: PostgreSQL cannot store them,
    and a request must fail the same way on both databases."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise ValueError(f"{where}: text cannot contain NUL (\\u0000) characters")
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


class Strict(BaseModel):
    """A request body: unknown fields, coerced types ("1" for 1) and non-finite numbers
    are refused, and so is text the database could not store."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        check_no_nul(data)
        return data


class Page(BaseModel, Generic[T]):
    """One page of a list, newest or first items first. ``next`` is the URL of the next
    page (``None`` on the last one); follow it as is."""

    items: list[T]
    next: str | None = None


class ErrorOut(BaseModel):
    """Every error answer: ``detail`` says what is wrong (a list of field problems for a
    request that does not validate); ``error`` names the kind of error."""

    detail: str | list[dict[str, Any]]
    error: str | None = None


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


#: Error answers every resource route may give (documented once, on the routers).
ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("No valid API key (one is required once any key exists)"),
    404: _error("No such resource in this workspace"),
    413: _error("The request body is over the server's limit"),
    422: _error("The request is invalid; `detail` says where"),
}
