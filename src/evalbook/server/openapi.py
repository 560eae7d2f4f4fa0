"""The API's OpenAPI document, as committed in ``docs/openapi.json``.

Regenerate it after changing a route or a schema (a test fails while the two differ)::

    python -m evalbook.server.openapi > docs/openapi.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

from evalbook.server.app import create_app
from evalbook.server.settings import ServerSettings

__all__ = ["document", "render"]


def document() -> dict[str, Any]:
    """What ``GET /openapi.json`` answers (no database is opened to build it)."""
    return create_app(ServerSettings(worker=False), services=()).openapi()


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
