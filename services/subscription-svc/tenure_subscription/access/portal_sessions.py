"""Portal sessions: a one-time link (1 h) opens a session for one customer.

`POST /v1/portal-sessions` stores the link's hash; opening the link marks it used and issues a
session credential (kept as a hash too), valid for PORTAL_SESSION_IDLE without use and
PORTAL_SESSION_MAX in all. The credential is a bearer credential every service accepts as a
customer-scoped principal (`Principal(scopes={"portal"}, customer_id=…)`): the portal pages send it
as `Authorization: Bearer <credential>` to any service's `/v1` routes marked `customer_scoped`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.auth import PORTAL_SCOPE, Principal, authenticate, hash_credential, parse_bearer
from tenure_shared.clock import real_now
from tenure_shared.errors import NotFound, TenureError, Unauthorized
from tenure_shared.ids import new_id
from tenure_subscription import repository
from tenure_subscription.access.credentials import (
    LAST_USED_RESOLUTION,
    PORTAL_LINK_LIFETIME,
    PORTAL_SESSION_IDLE,
    PORTAL_SESSION_MAX,
    new_portal_link_token,
    new_portal_session_credential,
)
from tenure_subscription.models import PortalSession

SESSION_COOKIE = "tenure_portal_session"
LINK_PATH = "/portal/sessions/"


class PortalLinkNotFound(NotFound):
    code = "portal_link_not_found"


class PortalLinkGone(TenureError):
    status, code, title = 410, "portal_link_used", "Gone"


async def create_portal_session(
    session: AsyncSession, *, customer_id: str, return_url: str | None, base_url: str
) -> tuple[str, datetime]:
    """The link to give the customer, and when it stops working."""
    await repository.get_customer(session, customer_id)  # 404 customer_not_found
    token = new_portal_link_token()
    now = real_now()
    row = PortalSession(
        id=new_id("ps"),
        customer_id=customer_id,
        return_url=return_url,
        link_hash=hash_credential(token),
        link_expires_at=now + PORTAL_LINK_LIFETIME,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return f"{base_url}{LINK_PATH}{token}", row.link_expires_at


async def open_portal_link(session: AsyncSession, token: str) -> tuple[PortalSession, str]:
    """Use the link (once): the session and its new credential."""
    now = real_now()
    credential = new_portal_session_credential()
    # One statement: two concurrent opens cannot both win.
    row = await session.scalar(
        update(PortalSession)
        .where(
            PortalSession.link_hash == hash_credential(token),
            PortalSession.link_used_at.is_(None),
            PortalSession.link_expires_at > now,
        )
        .values(
            link_used_at=now,
            session_hash=hash_credential(credential),
            session_expires_at=now + PORTAL_SESSION_MAX,
            last_seen_at=now,
        )
        .returning(PortalSession)
    )
    if row is not None:
        return row, credential
    known = await session.scalar(select(PortalSession).where(PortalSession.link_hash == hash_credential(token)))
    if known is None:
        raise PortalLinkNotFound("This portal link is not known.")
    if known.link_used_at is not None:
        raise PortalLinkGone("This portal link was already used; ask for a new one.")
    raise PortalLinkGone("This portal link has expired; ask for a new one.", code="portal_link_expired")


async def session_principal(session: AsyncSession, key_hash: str, now: datetime) -> Principal | None:
    """The customer-scoped principal of a live portal session, noting its use (for the idle limit)."""
    row = await session.scalar(
        select(PortalSession).where(
            PortalSession.session_hash == key_hash,
            PortalSession.session_expires_at > now,
            PortalSession.last_seen_at > now - PORTAL_SESSION_IDLE,
        )
    )
    if row is None:
        return None
    assert row.last_seen_at is not None  # the query compared it, so it is not NULL
    if now - row.last_seen_at >= LAST_USED_RESOLUTION:
        row.last_seen_at = now
    return Principal(key_id=row.id, scopes=frozenset({PORTAL_SCOPE}), customer_id=row.customer_id)


def portal_credential(request: Request) -> str | None:
    """The portal session credential of a browser request (its cookie) or of an API call (bearer)."""
    return request.cookies.get(SESSION_COOKIE) or parse_bearer(request.headers.get("authorization", ""))


async def portal_principal(request: Request) -> Principal:
    """For the portal's pages: the customer-scoped principal of this request, else 401.

    To read or change the customer's objects in another service, call its `/v1` routes with
    `Authorization: Bearer <portal_credential(request)>`: the same checks apply there."""
    credential = portal_credential(request)
    principal = await authenticate(request.app.state, credential) if credential else None
    if principal is None or not principal.customer_scoped:
        raise Unauthorized("Open the portal through a link from your provider.", code="portal_session_required")
    return principal
