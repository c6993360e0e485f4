"""API keys: issued, listed and revoked by an admin; verified by hash for every service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.auth import Principal, hash_credential
from tenure_shared.clock import real_now
from tenure_shared.errors import NotFound
from tenure_shared.ids import new_id
from tenure_shared.pagination import Page, paginate
from tenure_subscription.access.credentials import LAST_USED_RESOLUTION, new_api_key, normalised_scopes, visible_prefix
from tenure_subscription.models import ApiKey


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"


async def create_api_key(session: AsyncSession, *, name: str, scopes: Sequence[str], live: bool) -> tuple[ApiKey, str]:
    """The stored key and the key itself (the only time it exists outside the caller's hands)."""
    key = new_api_key(live=live)
    row = ApiKey(
        id=new_id("key"),
        name=name,
        key_hash=hash_credential(key),
        prefix=visible_prefix(key),
        scopes=normalised_scopes(scopes),
        created_at=real_now(),
    )
    session.add(row)
    await session.flush()
    return row, key


async def list_api_keys(session: AsyncSession, page: Page) -> tuple[list[ApiKey], bool]:
    """The keys in force (revoked ones are gone for good)."""
    return await paginate(session, select(ApiKey).where(ApiKey.revoked_at.is_(None)), ApiKey.id, page)


async def revoke_api_key(session: AsyncSession, key_id: str) -> ApiKey:
    row = await session.get(ApiKey, key_id, with_for_update=True)
    if row is None or row.revoked_at is not None:
        raise ApiKeyNotFound(f"No API key {key_id}.")
    row.revoked_at = real_now()
    return row


async def key_principal(session: AsyncSession, key_hash: str, now: datetime) -> Principal | None:
    """The principal of a key in force, noting its use (at most once per LAST_USED_RESOLUTION)."""
    row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    return Principal(key_id=row.id, scopes=frozenset(row.scopes))
