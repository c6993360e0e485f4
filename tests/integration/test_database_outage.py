"""A database that refuses connections, or cuts them, is a transient failure (real PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tenure_shared.db import connect_raw, service_database_url
from tenure_shared.failures import is_transient


async def _admin(stack):
    return await connect_raw(service_database_url(stack.database_url, "postgres", prefix=""))


async def test_a_closed_database_and_a_cut_connection_are_transient(stack, mechanism_db):
    url, sessions = mechanism_db
    database = url.rsplit("/", 1)[1].split("?")[0]
    async with sessions() as session:
        await session.execute(text("SELECT 1"))  # a pooled connection, about to be cut
    admin = await _admin(stack)
    try:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", database)
        for _ in range(2):  # the cut pooled connection, then a new one the database refuses
            with pytest.raises(Exception) as failure:
                async with sessions() as session:
                    await session.execute(text("SELECT 1"))
            assert is_transient(failure.value), repr(failure.value)
    finally:
        await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
        await admin.close()
    async with sessions() as session:
        assert (await session.execute(text("SELECT 1"))).scalar() == 1
