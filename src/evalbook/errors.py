"""The one exception tree of evalbook.

::

    EvalbookError
    ├── UserError                  fix your input; the CLI exits 1
    │   ├── ConfigError            bad option, model spec, environment
    │   │   └── MissingExtraError  an optional part is not installed (says the pip command)
    │   ├── SuiteError             a suite file, dataset file or case is wrong
    │   ├── TemplateError          a prompt template does not render
    │   ├── UnknownNameError       unknown provider / scorer (with "did you mean")
    │   └── NotFoundError          a run, suite or prompt id that is not recorded
    └── RuntimeFailure             something outside the input failed
        ├── ProviderError          a model call failed (classified for retries)
        │   ├── RateLimitError     429: retry after the server's Retry-After
        │   ├── TransientError     5xx, timeout, connection reset, malformed reply
        │   │   └── EndpointUnreachable  no connection at all (refused, no route, DNS)
        │   └── FatalProviderError auth, 4xx validation: never retried
        │       └── AuthError      credentials refused / the site asks to log in: stops the run
        ├── StorageError           the database refused or is out of date
        │   └── StorageFull        the database or its disk is full: the run is resumable
        └── BudgetExceeded         --max-cost reached (stops launching, not an error of a case)

Inside a run a failing case is data on its result (type, message, attempts), never an
exception that kills the run; these classes are what providers raise and the executor
classifies.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BudgetExceeded",
    "ConfigError",
    "EndpointUnreachable",
    "EvalbookError",
    "FatalProviderError",
    "MissingExtraError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "RuntimeFailure",
    "StorageError",
    "StorageFull",
    "SuiteError",
    "TemplateError",
    "TransientError",
    "UnknownNameError",
    "UserError",
]


class EvalbookError(Exception):
    """Base of every error evalbook raises on purpose."""


class UserError(EvalbookError):
    """The input is wrong; the message says where and how to fix it."""


class ConfigError(UserError):
    """An option, model spec or environment variable is wrong."""


class MissingExtraError(ConfigError):
    """What was asked for needs an optional part of evalbook that is not installed."""

    def __init__(self, what: str, extra: str) -> None:
        self.extra = extra
        super().__init__(f"{what} needs the {extra!r} extra: pip install 'evalbook[{extra}]'")


class SuiteError(UserError):
    """A suite file, dataset file or case is invalid.

    ``location`` is ``file[:line]`` when known, and is already part of the message.
    """

    def __init__(self, message: str, *, location: str | None = None) -> None:
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class TemplateError(UserError):
    """A prompt template failed to compile or render (e.g. an undefined variable)."""

    def __init__(
        self, message: str, *, case_id: str | None = None, variable: str | None = None
    ) -> None:
        self.case_id = case_id
        self.variable = variable
        super().__init__(message)


class UnknownNameError(UserError):
    """A registry has no entry of that name; the message suggests close names."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        import difflib

        self.kind = kind
        self.name = name
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(sorted(known))
        super().__init__(f"unknown {kind} {name!r}.{hint} Known: {listing}.")


class NotFoundError(UserError):
    """A run, suite or prompt that is not in the store."""


class RuntimeFailure(EvalbookError):
    """Something outside the user's input failed."""


class ProviderError(RuntimeFailure):
    """A model call failed. ``kind`` drives the retry policy."""

    kind = "provider"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        retry_after: float | None = None,
        evidence: object | None = None,
    ) -> None:
        self.status_code = status_code
        self.retry_after = retry_after
        #: What the failing call left to look at (a browser page's screenshot, HTML and
        #: trace: ``core.result.ProviderEvidence``); recorded on the errored result.
        self.evidence = evidence
        super().__init__(message)


class RateLimitError(ProviderError):
    """HTTP 429 (or the provider's equivalent): wait ``retry_after`` when given."""

    kind = "rate_limit"
    retryable = True


class TransientError(ProviderError):
    """5xx, timeout, reset connection or malformed reply: back off with jitter, retry."""

    kind = "transient"
    retryable = True


class EndpointUnreachable(TransientError):
    """No connection could be made to the endpoint at all (refused, no route, unknown
    host). Retried like any transient failure, but a run whose calls all fail this way
    stops early (``executor/runner.py``): every case would fail the same way."""

    def __init__(self, message: str, *, url: str, cause: str) -> None:
        self.url = url
        self.cause = cause
        super().__init__(message)


class FatalProviderError(ProviderError):
    """Authentication or request validation failed: retrying cannot help."""

    kind = "fatal"


class AuthError(FatalProviderError):
    """The credentials were refused (HTTP 401/403) or a website asks to log in: every
    case would fail the same way, so the run stops instead of trying them all."""

    kind = "auth"


class StorageError(RuntimeFailure):
    """The database failed or its schema is not at the expected revision."""


class StorageFull(StorageError):
    """The database (or the disk under it) is full. Nothing partial was written: the
    batch that did not fit was rolled back, and the run can be resumed once there is room."""

    @staticmethod
    def within(exc: BaseException) -> StorageFull | None:
        """The :class:`StorageFull` in ``exc``, also inside a task group's exception group."""
        if isinstance(exc, StorageFull):
            return exc
        if isinstance(exc, BaseExceptionGroup):
            for inner in exc.exceptions:
                if (found := StorageFull.within(inner)) is not None:
                    return found
        return None


class BudgetExceeded(RuntimeFailure):
    """The run's ``max_cost`` would be passed by launching more items."""
