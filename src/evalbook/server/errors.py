"""evalbook's exception tree as HTTP answers, and the request body limit."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from evalbook.errors import (
    EvalbookError,
    NotFoundError,
    RuntimeFailure,
    StorageError,
    UnknownNameError,
    UserError,
)

__all__ = ["BodyLimit", "install_error_handlers"]


def _status(exc: EvalbookError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, UnknownNameError | UserError):
        return 422
    if isinstance(exc, StorageError):
        return 503
    if isinstance(exc, RuntimeFailure):
        return 502
    return 500


def install_error_handlers(app: FastAPI) -> None:
    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, EvalbookError)
        body: dict[str, Any] = {"detail": str(exc), "error": type(exc).__name__}
        return JSONResponse(body, status_code=_status(exc))

    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own answer echoes each bad value ("input"): a key sent by mistake
        # would come back in the response (and whatever logs it). Say where, not what.
        assert isinstance(exc, RequestValidationError)
        errors = [{k: v for k, v in e.items() if k not in ("input", "url")} for e in exc.errors()]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    app.add_exception_handler(EvalbookError, handle)
    app.add_exception_handler(RequestValidationError, invalid)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether or not the client sent
    a Content-Length (a chunked body is counted as it arrives)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        over = answered = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _TooLarge
            return message

        async def answer(message: Message) -> None:
            # A route that parses the body catches the error and answers 400 ("error
            # parsing the body"): once the body is over the limit, the answer is ours.
            nonlocal answered
            if over:
                return
            answered = True
            await send(message)

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over:  # whatever a route made of the refused body, the answer is 413
                raise
        if over and not answered:
            await _too_large(send, self.max_bytes)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, max_bytes: int) -> None:
    response = JSONResponse(
        {"detail": f"request body over {max_bytes} bytes", "error": "PayloadTooLarge"},
        status_code=413,
    )
    await response(
        {"type": "http", "method": "POST", "headers": []},
        _empty_receive,
        send,
    )


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}
