"""Which principal holds a credential hash: an API key in force, else a live portal session.

subscription-svc's own KeyVerifier reads the tables directly (`local_key_lookup`); the other
services ask `POST /internal/api-keys/verify`, which answers from the same function.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_shared.auth import KeyLookup, Principal
from tenure_shared.clock import real_now
from tenure_subscription.access.api_keys import key_principal
from tenure_subscription.access.portal_sessions import session_principal


async def lookup_principal(session: AsyncSession, key_hash: str) -> Principal | None:
    now = real_now()
    return await key_principal(session, key_hash, now) or await session_principal(session, key_hash, now)


def local_key_lookup(app: FastAPI) -> KeyLookup:
    async def lookup(key_hash: str) -> Principal | None:
        async with app.state.session_factory() as session, session.begin():
            return await lookup_principal(session, key_hash)

    return lookup
