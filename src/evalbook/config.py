"""Where evalbook keeps its data: one place that reads the environment.

- ``EVALBOOK_HOME`` (default ``~/.evalbook``): the SQLite database, the model files.
- ``EVALBOOK_DATABASE_URL``: a SQLAlchemy URL (``postgresql+psycopg://…``) for a shared store.
"""

from __future__ import annotations

import os
from pathlib import Path


def evalbook_home() -> Path:
    """The data directory, created on first use."""
    home = Path(os.environ.get("EVALBOOK_HOME") or Path.home() / ".evalbook").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def database_url() -> str:
    """``EVALBOOK_DATABASE_URL`` or the SQLite file under :func:`evalbook_home`."""
    url = os.environ.get("EVALBOOK_DATABASE_URL")
    if url:
        return normalize_database_url(url)
    return f"sqlite:///{evalbook_home() / 'evalbook.db'}"


def normalize_database_url(url: str) -> str:
    """Accept the usual ``postgres://`` / ``postgresql://`` forms; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
