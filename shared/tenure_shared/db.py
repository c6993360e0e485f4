"""Database plumbing: one database per service, async engine and sessions, alembic migrations.

The entrypoint (a request, a consumed message, a due job) owns the one transaction: it opens a
session with `session.begin()`; use cases only `flush()`.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every service's models (each service has its own database)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def database_name(service: str, prefix: str = "tenure_") -> str:
    """The database a service owns, e.g. `tenure_health_score`."""
    return prefix + service.replace("-", "_")


def service_database_url(server_url: str, service: str, prefix: str = "tenure_") -> str:
    """The server URL with the database part replaced by the service's own database."""
    return make_url(server_url).set(database=database_name(service, prefix)).render_as_string(hide_password=False)


def make_engine(url: str, *, pre_ping: bool = True, pool_size: int = 4, max_overflow: int = 6) -> AsyncEngine:
    """`pre_ping` checks a pooled connection at every checkout: on asyncpg three round trips (BEGIN,
    `;`, ROLLBACK), 8-14% of a process's CPU in the 2026-12-07 profile. The APIs ping: a request
    must not fail with a 500 on a connection the database cut during an outage (seen in
    tests/e2e/test_resilience_peer_outage.py without it). The workers do not: there a cut
    connection fails its first statement as a transient error (`tenure_shared.failures`: the event
    waits, the job backs off), and SQLAlchemy then discards every pooled connection older than the
    failure, so a database restart costs a worker one failed transaction. Ping unless told not to."""
    return create_async_engine(url, pool_pre_ping=pre_ping, pool_size=pool_size, max_overflow=max_overflow)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def _asyncpg_dsn(url: str) -> tuple[str, dict[str, Any]]:
    """Turn an SQLAlchemy URL into asyncpg.connect() arguments (handles ?host=/socket/dir)."""
    parsed = make_url(url)
    kwargs = {
        "user": parsed.username,
        "password": parsed.password,
        "host": parsed.query.get("host") or parsed.host,
        "port": parsed.port,
        "database": parsed.database,
    }
    return "", {k: v for k, v in kwargs.items() if v is not None}


def asyncpg_connect_kwargs(url: str) -> dict[str, Any]:
    """asyncpg.connect() / create_pool() arguments for an SQLAlchemy URL."""
    return _asyncpg_dsn(url)[1]


async def connect_raw(url: str) -> asyncpg.Connection:
    """A plain asyncpg connection, for advisory locks, bulk COPY and admin statements."""
    _, kwargs = _asyncpg_dsn(url)
    return await asyncpg.connect(**kwargs)


async def ensure_database(server_url: str, service: str, prefix: str = "tenure_") -> None:
    """Create the service's database on the server when it does not exist yet."""
    admin = await connect_raw(make_url(server_url).set(database="postgres").render_as_string(hide_password=False))
    try:
        name = database_name(service, prefix)
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def run_migrations(url: str, package: str) -> None:
    """Upgrade the service database at `url` to the head of `<package>.migrations` (alembic)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files(package) / "migrations"))
    # alembic runs synchronously; the same asyncpg URL works through SQLAlchemy's sync adapter.
    config.attributes["connection_url"] = url
    command.upgrade(config, "head")


def run_alembic_env(target_metadata: MetaData) -> None:
    """Body of every service's `migrations/env.py`: run the migrations online on asyncpg."""
    import asyncio

    from alembic import context

    url = context.config.attributes["connection_url"]

    def do_run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run())
