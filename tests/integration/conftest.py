"""Integration fixtures: scratch databases on the real PostgreSQL, test topics on the real broker."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tenure_shared.broker import ensure_topics, make_admin
from tenure_shared.db import connect_raw, ensure_database, make_engine, make_session_factory, run_migrations, service_database_url


async def _scratch_database(stack, package: str):
    name = f"itest_{uuid.uuid4().hex[:8]}"
    await ensure_database(stack.database_url, name, prefix="tenure_")
    url = service_database_url(stack.database_url, name, prefix="tenure_")
    await asyncio.to_thread(run_migrations, url, package)
    engine = make_engine(url)
    try:
        yield url, make_session_factory(engine)
    finally:
        await engine.dispose()
        admin = await connect_raw(service_database_url(stack.database_url, "postgres", prefix=""))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "tenure_{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def mechanism_db(stack):
    """A fresh database with only the mechanism tables (credit-svc's migrations start with them)."""
    async for url_and_sessions in _scratch_database(stack, "tenure_health"):
        yield url_and_sessions


@pytest.fixture
async def invoicing_db(stack):
    """A fresh invoicing-svc database."""
    async for url_and_sessions in _scratch_database(stack, "tenure_invoicing"):
        yield url_and_sessions


@pytest.fixture
async def topic(stack) -> str:
    """A topic of this test's own (and its dead-letter topic)."""
    name = f"tenure.itest.{uuid.uuid4().hex[:8]}"
    admin = make_admin(stack.kafka_bootstrap)
    await admin.start()
    try:
        await ensure_topics(admin, (name, f"{name}.dlq"))
    finally:
        await admin.close()
    return name
