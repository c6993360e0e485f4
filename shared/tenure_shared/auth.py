"""Bearer API keys for `/v1` routes and a service token for `/internal` routes."""

from __future__ import annotations

import hmac

from fastapi import Request

from tenure_shared.errors import Forbidden, Unauthorized
from tenure_shared.settings import ServiceSettings

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def key_scopes(settings: ServiceSettings, token: str | None) -> set[str] | None:
    """The scopes a key grants, or None for an unknown key."""
    if token is None:
        return None
    if hmac.compare_digest(token, settings.api_key):
        return {"read", "write"}
    if settings.read_only_api_key and hmac.compare_digest(token, settings.read_only_api_key):
        return {"read"}
    return None


async def require_api_key(request: Request) -> None:
    """401 without a valid key; 403 when the key lacks the scope (write for mutating methods)."""
    scopes = key_scopes(request.app.state.settings, bearer_token(request))
    if scopes is None:
        raise Unauthorized("Send a valid API key as `Authorization: Bearer <key>`.", code="invalid_api_key")
    needed = "read" if request.method in READ_METHODS else "write"
    if needed not in scopes:
        raise Forbidden(f"This API key has no `{needed}` scope.", code="insufficient_scope")


async def require_internal_token(request: Request) -> None:
    token = bearer_token(request)
    if token is None or not hmac.compare_digest(token, request.app.state.settings.internal_token):
        raise Unauthorized("Internal routes need the service token.", code="invalid_service_token")
