"""Bearer API keys for `/v1` routes and a service token for `/internal` routes."""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.security import HTTPBearer
from starlette.types import ASGIApp, Receive, Scope, Send

from tenure_shared.errors import Forbidden, Unauthorized, problem_response
from tenure_shared.settings import ServiceSettings

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def parse_bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison; on bytes, so a token with non-ASCII characters is simply wrong."""
    return hmac.compare_digest(given.encode(), expected.encode())


def is_service_token(settings: ServiceSettings, token: str | None) -> bool:
    return token is not None and same_secret(token, settings.internal_token)


def key_scopes(settings: ServiceSettings, token: str | None) -> set[str] | None:
    """The scopes a key grants, or None for an unknown key."""
    if token is None:
        return None
    if same_secret(token, settings.api_key):
        return {"read", "write", "admin"}
    if settings.read_only_api_key and same_secret(token, settings.read_only_api_key):
        return {"read"}
    return None


class ApiKeyMiddleware:
    """Guards every `/v1/` path, known route or not: 401 without a valid key, 403 without the
    scope (`write` for mutating methods)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        scopes = key_scopes(scope["app"].state.settings, parse_bearer(headers.get("authorization", "")))
        if scopes is None:
            response = problem_response(
                401, "invalid_api_key", "Unauthorized", "Send a valid API key as `Authorization: Bearer <key>`."
            )
            return await response(scope, receive, send)
        needed = "read" if scope["method"] in READ_METHODS else "write"
        if needed not in scopes and "admin" not in scopes:
            response = problem_response(403, "insufficient_scope", "Forbidden", f"This API key has no `{needed}` scope.")
            return await response(scope, receive, send)
        scope.setdefault("state", {})["api_scopes"] = frozenset(scopes)
        return await self.app(scope, receive, send)


async def require_admin(request: Request) -> None:
    """A route dependency: the caller's key must have the `admin` scope (keys, settings, policies,
    models, webhook endpoints, quote approvals)."""
    if "admin" not in getattr(request.state, "api_scopes", frozenset()):
        raise Forbidden("This action needs an API key with the `admin` scope.")


# Declares the bearer scheme in the OpenAPI document (the middleware does the checking).
api_key_scheme = HTTPBearer(auto_error=False, description="Tenure API key")


async def require_internal_token(request: Request) -> None:
    if not is_service_token(request.app.state.settings, parse_bearer(request.headers.get("authorization", ""))):
        raise Unauthorized("Internal routes need the service token.", code="invalid_service_token")
