"""Classification of HTTP error replies and Retry-After parsing."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from evalbook.errors import AuthError, FatalProviderError, RateLimitError, TransientError
from evalbook.providers.http_errors import parse_retry_after, server_message, status_error


def test_retry_after_in_seconds_milliseconds_and_http_date() -> None:
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after": "1.5"}) == 1.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    in_ten = parse_retry_after({"retry-after": formatdate(time.time() + 10, usegmt=True)})
    assert in_ten is not None
    assert 8 <= in_ten <= 10
    assert parse_retry_after({"retry-after": formatdate(time.time() - 60, usegmt=True)}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, RateLimitError),
        (408, TransientError),
        (409, TransientError),
        (500, TransientError),
        (502, TransientError),
        (529, TransientError),
        (400, FatalProviderError),
        (401, AuthError),  # a FatalProviderError that stops the run
        (403, AuthError),
        (404, FatalProviderError),
        (422, FatalProviderError),
    ],
)
def test_status_classes(status: int, kind: type[Exception]) -> None:
    error = status_error("p", status, "msg", {"retry-after": "1"})
    assert type(error) is kind
    assert error.status_code == status
    assert error.retry_after == (1.0 if status == 429 else None)


def test_the_secret_is_scrubbed() -> None:
    error = status_error(
        "p", 401, "Incorrect API key provided: sk-secret-123", {}, secret="sk-secret-123"
    )
    assert "sk-secret-123" not in str(error)
    assert "***" in str(error)


def test_server_message_shapes() -> None:
    assert server_message({"message": "a"}, "fb") == "a"
    assert server_message({"type": "error", "error": {"message": "b"}}, "fb") == "b"
    assert server_message("text", "fb") == "fb"
