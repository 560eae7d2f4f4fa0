"""Where evalbook keeps its data: one place that reads the environment.

- ``EVALBOOK_HOME`` (default ``~/.evalbook``): the SQLite database, the model files.
- ``EVALBOOK_DATABASE_URL``: a SQLAlchemy URL (``postgresql+psycopg://…``) for a shared store.
- ``EVALBOOK_MAX_PROMPT_CHARS`` (default 1,000,000) and ``EVALBOOK_RENDER_TIMEOUT_S``
  (default 1): how large a rendered prompt may be and how long rendering it may take.
- ``EVALBOOK_MAX_STORED_BYTES`` (default 16 MiB): the largest text or JSON value of one
  result that is stored as it is; a larger one is stored truncated, with a marker.
- ``EVALBOOK_MAX_PAGE_BYTES`` (default 16 MiB): about how much of its results' text one
  page of a run's results holds (the API's and the inspector's); a page ends early (never
  empty) rather than read more, and its ``next`` goes on from there.
- ``EVALBOOK_WRITER_PROCESS_AFTER`` (default 2,000, ``off`` on one core): a run's results
  are written by a process of their own once it has this many, from its start when its
  plan has more (``executor/writer_process``).

``evalbook run``, ``serve``, ``worker`` and ``evalbook.run``/``arun`` read every limit as
they start (:func:`check_limits`): one set badly stops them there, named.
"""

from __future__ import annotations

import os
from pathlib import Path

from evalbook.core.template_limits import DEFAULT_LIMITS, RenderLimits
from evalbook.errors import ConfigError


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


def render_limits() -> RenderLimits:
    """The limits on rendering one prompt, from the environment (see the module)."""
    chars = _positive("EVALBOOK_MAX_PROMPT_CHARS", DEFAULT_LIMITS.max_chars)
    seconds = _positive("EVALBOOK_RENDER_TIMEOUT_S", DEFAULT_LIMITS.max_seconds)
    return RenderLimits(max_chars=int(chars), max_seconds=float(seconds))


#: Far below PostgreSQL's limits (256 MB for a jsonb value, 1 GB for text), and more than
#: any useful answer: a row of hundreds of megabytes only slows every page that reads it.
DEFAULT_SUITE_BYTES = 200 * 2**20
DEFAULT_STORED_BYTES = 16 * 1024 * 1024


def stored_bytes_limit() -> int:
    """The largest text or JSON value of a result stored whole (``EVALBOOK_MAX_STORED_BYTES``)."""
    return int(_positive("EVALBOOK_MAX_STORED_BYTES", DEFAULT_STORED_BYTES))


DEFAULT_PAGE_BYTES = 16 * 1024 * 1024


def page_bytes_limit() -> int:
    """About how much text one page of results holds (``EVALBOOK_MAX_PAGE_BYTES``)."""
    return int(_positive("EVALBOOK_MAX_PAGE_BYTES", DEFAULT_PAGE_BYTES))


def suite_bytes_limit() -> int:
    """The largest suite definition recorded (``EVALBOOK_MAX_SUITE_BYTES``, 200 MiB): a
    suite is the instrument and is never cut, and PostgreSQL refuses a jsonb value over
    about 255 MiB with an error that names neither the suite nor a case."""
    return int(_positive("EVALBOOK_MAX_SUITE_BYTES", DEFAULT_SUITE_BYTES))


#: Results a run makes before a process of their own writes the rest.
DEFAULT_WRITER_PROCESS_AFTER = 2_000


def writer_process_after() -> int | None:
    """After how many results a run's results are written by a process of their own
    (``EVALBOOK_WRITER_PROCESS_AFTER``: a count, 0 from the first; ``off``: never). Unset,
    2,000 where this process may run on two cores or more, else never: on one core the
    other process would only add its pickling to the same core's work."""
    name = "EVALBOOK_WRITER_PROCESS_AFTER"
    raw = (os.environ.get(name) or "").strip()
    if not raw:
        return DEFAULT_WRITER_PROCESS_AFTER if _cores() > 1 else None
    if raw.lower() == "off":
        return None
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{name} must be a count of results (0 or more) or 'off', not {raw!r}")
    return value


def check_limits() -> None:
    """Read every limit above from the environment, raising :class:`ConfigError` for the
    first one set badly. ``evalbook run``, ``serve``, ``worker`` and ``evalbook.arun``
    check them as they start: a limit is otherwise read where it is needed (a run's first
    write after its first paid answers, a page of results a server serves), too late to
    say it plainly."""
    render_limits()
    stored_bytes_limit()
    page_bytes_limit()
    suite_bytes_limit()
    writer_process_after()


def _cores() -> int:
    """The cores this process may run on (its affinity where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _positive(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value
