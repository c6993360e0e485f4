"""Errors as RFC 9457 problem+json with a stable machine `code`.

Services raise `TenureError` subclasses; one handler renders them. A rejected request changes
nothing because the request's transaction is rolled back when the error propagates.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
# Validation error types that are themselves a stable code (raised with `coded_error`).
CODED_VALIDATION_ERRORS: set[str] = set()
PROBLEM_TYPE_BASE = "https://tenure.dev/problems/"


def coded_error(code: str, message: str) -> PydanticCustomError:
    """A field validation error whose type becomes the problem's `code`."""
    CODED_VALIDATION_ERRORS.add(code)
    return PydanticCustomError(code, message)


class TenureError(Exception):
    """An expected failure with its HTTP status and stable code."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra


class NotFound(TenureError):
    status, code, title = 404, "not_found", "Not found"


class Conflict(TenureError):
    status, code, title = 409, "conflict", "Conflict"


class InvalidRequest(TenureError):
    status, code, title = 422, "invalid_request", "Invalid request"


class PaymentRequired(TenureError):
    status, code, title = 402, "payment_failed", "Payment failed"


class Unauthorized(TenureError):
    status, code, title = 401, "unauthorized", "Unauthorized"


class Forbidden(TenureError):
    status, code, title = 403, "insufficient_scope", "Forbidden"


class ServiceUnavailable(TenureError):
    status, code, title = 503, "service_unavailable", "Service unavailable"


def problem_response(
    status: int, code: str, title: str, detail: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail, "code": code}
    body.update(extra)
    sent_headers = dict(headers or {})
    if status == 401:
        sent_headers.setdefault("WWW-Authenticate", "Bearer")  # RFC 9110: a 401 names the scheme to use
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=sent_headers)


def install_error_handlers(app: FastAPI) -> None:
    """Render every error, expected or not, as problem+json."""

    @app.exception_handler(TenureError)
    async def tenure_error(_: Request, exc: TenureError) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()]
        malformed = any(e["type"] == "json_invalid" for e in errors)
        coded = next((e["type"] for e in errors if e["type"] in CODED_VALIDATION_ERRORS), None)
        code = "malformed_json" if malformed else coded or "validation_error"
        detail = "The request body is not valid JSON." if malformed else "The request has invalid fields."
        return problem_response(422, code, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "route_not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        # Keeps the exception's headers: `Allow` on a 405.
        return problem_response(exc.status_code, code, str(exc.detail), str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected_error(_: Request, exc: Exception) -> JSONResponse:
        # Starlette's ServerErrorMiddleware sends this, then re-raises; edge.UnhandledErrorGuard logs it.
        return problem_response(500, "internal_error", "Internal error", "An unexpected error occurred.")
