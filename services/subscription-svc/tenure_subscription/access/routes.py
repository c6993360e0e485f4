"""Routes of access: API keys (admin), portal sessions (write), the portal link, and the internal
verification every service's KeyVerifier calls."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from tenure_shared.app import DbSession
from tenure_shared.auth import principal_to_json, require_admin, require_internal_token
from tenure_shared.openapi import problem_responses
from tenure_shared.pagination import Page, page_params
from tenure_subscription.access import api_keys, portal_sessions
from tenure_subscription.access.credentials import PORTAL_SESSION_MAX
from tenure_subscription.access.verification import lookup_principal
from tenure_subscription.models import ApiKey
from tenure_subscription.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    ApiKeyRevokedOut,
    KeyVerifyIn,
    ListOut,
    PortalSessionIn,
    PortalSessionOut,
)

router = APIRouter()
internal_router = APIRouter(dependencies=[Depends(require_internal_token)])
# Outside /v1: what a customer's browser opens.
portal_router = APIRouter(include_in_schema=False)


def api_key_out(row: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=row.id, name=row.name, prefix=row.prefix, scopes=row.scopes, created_at=row.created_at, last_used_at=row.last_used_at
    )


@router.post("/api-keys", status_code=201, tags=["access"], dependencies=[Depends(require_admin)])
async def create_api_key(body: ApiKeyIn, request: Request, session: DbSession) -> ApiKeyCreatedOut:
    """A new key; `key` is in this reply only (Tenure keeps its hash)."""
    live = request.app.state.settings.environment == "production"
    row, key = await api_keys.create_api_key(session, name=body.name, scopes=body.scopes, live=live)
    return ApiKeyCreatedOut(**api_key_out(row).model_dump(), key=key)


@router.get("/api-keys", tags=["access"], dependencies=[Depends(require_admin)])
async def list_api_keys(session: DbSession, page: Page = Depends(page_params)) -> ListOut[ApiKeyOut]:
    rows, more = await api_keys.list_api_keys(session, page)
    return ListOut(data=[api_key_out(r) for r in rows], has_more=more)


@router.delete("/api-keys/{key_id}", tags=["access"], dependencies=[Depends(require_admin)])
async def revoke_api_key(key_id: str, session: DbSession) -> ApiKeyRevokedOut:
    """Every service refuses the key within 2 s."""
    row = await api_keys.revoke_api_key(session, key_id)
    return ApiKeyRevokedOut(id=row.id, revoked=True)


@router.post("/portal-sessions", status_code=201, tags=["access"], responses=problem_responses(404))
async def create_portal_session(body: PortalSessionIn, request: Request, session: DbSession) -> PortalSessionOut:
    """A link that opens the customer's portal: usable once, within 1 h."""
    url, expires_at = await portal_sessions.create_portal_session(
        session,
        customer_id=body.customer_id,
        return_url=body.return_url,
        base_url=request.app.state.settings.portal_base_url(),
    )
    return PortalSessionOut(url=url, expires_at=expires_at)


@portal_router.get("/portal/sessions/{token}")
async def open_portal_link(token: str, request: Request, session: DbSession) -> RedirectResponse:
    row, credential = await portal_sessions.open_portal_link(session, token)
    response = RedirectResponse("/portal", status_code=303)
    response.set_cookie(
        portal_sessions.SESSION_COOKIE,
        credential,
        max_age=int(PORTAL_SESSION_MAX.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.portal_base_url().startswith("https://"),
    )
    return response


@internal_router.post("/api-keys/verify")
async def verify_credential(body: KeyVerifyIn, session: DbSession) -> dict:
    """For every service's KeyVerifier: the principal holding this credential hash, or null."""
    return {"principal": principal_to_json(await lookup_principal(session, body.key_hash))}
