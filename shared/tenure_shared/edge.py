"""The edge of every service's HTTP app: what is checked and added before any route runs.

- `UnhandledErrorGuard` (outermost): an exception that escapes the app is logged and swallowed, so
  uvicorn keeps the keep-alive connection; the 500 problem+json was already sent by the error handler.
- `RequestIdMiddleware`: every response carries `Request-Id` (the client's, if sane), every log
  line of the request carries `request_id`, and each request ends with one `http_request` line.
- `BadBytesMiddleware`: NUL bytes, invalid UTF-8 and lone surrogates anywhere in the request answer
  422 `invalid_characters` (PostgreSQL refuses them in text, and they are never meaningful).
- `InternalAuthMiddleware`: any `/internal` path, known or not, needs the service token (so unknown
  internal paths cannot be mapped from outside).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from urllib.parse import unquote_to_bytes

import structlog
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure_shared.auth import is_service_token, parse_bearer
from tenure_shared.errors import problem_response

log = structlog.get_logger()

REQUEST_ID_HEADER = "request-id"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
# A JSON `\u` escape of NUL or of a UTF-16 surrogate, preceded by an even number of backslashes
# (so it really is an escape, not an escaped backslash followed by "u").
_SUSPICIOUS_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


class UnhandledErrorGuard:
    """Starlette's ServerErrorMiddleware sends the 500 (our handler renders it as problem+json) and
    then re-raises; uvicorn then drops the connection without `Connection: close`. This guard sits
    outside it, logs the error once and ends the request normally."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            log.exception("unhandled_error", error=repr(exc), method=scope.get("method"), path=scope.get("path"))
            if not started:
                response = problem_response(500, "internal_error", "Internal error", "An unexpected error occurred.")
                await response(scope, receive, send)


def sane_request_id(value: str | None) -> str:
    """The client's Request-Id if it is a short plain token, else a new one."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return "req_" + uuid.uuid4().hex


def logged_path(scope: Scope) -> str:
    """The path as the client sent it, still percent-encoded and ASCII only: a decoded `%0A` (or a
    NEL byte) in the log would start a forged line."""
    raw: bytes | None = scope.get("raw_path")
    path: str = scope["path"]
    return raw.decode("ascii", "backslashreplace") if raw else path


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = next((v for k, v in scope["headers"] if k.lower() == b"request-id"), None)
        request_id = sane_request_id(incoming.decode("latin-1") if incoming is not None else None)
        started = time.perf_counter()
        status = 500  # if the app ends without a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"request-id", request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                # The path, not the query string (it may carry anything); the log processor masks credentials in it.
                log.info(
                    "http_request",
                    method=scope["method"],
                    path=logged_path(scope),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )


def _is_clean_text(data: bytes) -> bool:
    """No NUL byte and valid UTF-8 (which excludes encoded surrogates)."""
    if b"\x00" in data:
        return False
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_strings_are_clean(value: object) -> bool:
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")  # a lone surrogate cannot be encoded
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_json_strings_are_clean(k) and _json_strings_are_clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_strings_are_clean(v) for v in value)
    return True


def body_is_clean(body: bytes) -> bool:
    """Bytes clean, and no JSON escape decoding to NUL or a lone surrogate. Cheap on the usual body:
    the JSON is only parsed when a suspicious escape appears (a paired surrogate, e.g. an emoji, is fine)."""
    if not _is_clean_text(body):
        return False
    if b"\\u" not in body or not _SUSPICIOUS_ESCAPE.search(body):
        return True
    try:
        parsed = json.loads(body)
    except ValueError:
        return True  # not JSON: the route answers malformed_json
    return _json_strings_are_clean(parsed)


def request_line_problem(scope: Scope) -> str | None:
    """Which part of the request line or headers holds a bad byte, if any."""
    if not _is_clean_text(unquote_to_bytes(scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape"))):
        return "path"
    if not _is_clean_text(unquote_to_bytes(scope.get("query_string", b""))):
        return "query string"
    for name, value in scope["headers"]:
        if not _is_clean_text(value):
            return f"header {name.decode('latin-1')}"
    return None


def _invalid_characters(where: str) -> JSONResponse:
    return problem_response(
        422,
        "invalid_characters",
        "Invalid request",
        f"The {where} holds a NUL byte, invalid UTF-8 or a lone surrogate.",
    )


class BadBytesMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        where = request_line_problem(scope)
        if where is not None:
            return await _invalid_characters(where)(scope, receive, send)
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        chunks = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if not body_is_clean(body):
            return await _invalid_characters("request body")(scope, receive, send)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def is_internal_path(path: str) -> bool:
    return path == "/internal" or path.startswith("/internal/")


class InternalAuthMiddleware:
    """401 for any `/internal` path without the service token, before routing."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_internal_path(scope["path"]):
            return await self.app(scope, receive, send)
        authorization = next((v for k, v in scope["headers"] if k.lower() == b"authorization"), b"").decode("latin-1")
        if not is_service_token(scope["app"].state.settings, parse_bearer(authorization)):
            response = problem_response(401, "invalid_service_token", "Unauthorized", "Internal routes need the service token.")
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)
