"""What the importers write the same way: the ``unsupported`` scorer that keeps a
construct they could not map in the suite (it errors on every case, never passes), and a
suite id made from a source's name."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["suite_slug", "unsupported_spec"]


def unsupported_spec(
    tool: str, feature: str, name: str, file: str, line: int | None, reason: str
) -> dict[str, Any]:
    """The scorer spec of an unmapped ``feature`` of ``tool``, written at ``file:line``."""
    return {
        "type": "unsupported",
        "name": name,
        "tool": tool,
        "feature": feature,
        "location": f"{file}:{line}" if line else file,
        "reason": reason,
    }


def suite_slug(name: str, fallback: str) -> str:
    """``name`` as a suite id (lowercase letters, digits, ``_``, ``.``, ``-``)."""
    return re.sub(r"[^a-z0-9_.-]+", "-", name.lower()).strip("-.") or fallback
