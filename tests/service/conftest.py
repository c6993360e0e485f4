"""Service-layer fixtures: a service's FastAPI app in the test process, on a migrated database of its
own, each test inside one transaction that is rolled back at its end.

No broker and no peer service: outbox rows are written (a test can assert them) but never relayed,
and a route that calls another service meets a refused connection (the peers' URLs point at a port
nothing listens on). Such tests belong to tests/e2e.

One PostgreSQL per test process (the embedded one, or the server DATABASE_URL names), on which each
pytest-xdist worker migrates databases of its own with alembic, as the stack does.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from tenure_shared.auth import KeyVerifier, Principal
from tenure_shared.db import NAMING_CONVENTION, Base, connect_raw, database_name, make_engine, service_database_url
from tenure_shared.rate_limit import RateLimiter
from tenure_subscription.access.verification import local_key_lookup, lookup_principal
from tenure_tools.services import PACKAGES, SERVICES
from tenure_tools.stack import EmbeddedPostgres, free_port, migrate_all
from tests.conftest import API_KEY, READ_ONLY_API_KEY

ROOT = Path(__file__).resolve().parents[2]
# A port nothing listens on: a call to a peer service is refused at once instead of reaching a stack.
CLOSED_PEER_URL = f"http://127.0.0.1:{free_port()}"

# The apps read their settings when their module is first imported (below, in `ServiceLayer.open`).
# The stack's processes get these variables set explicitly, so running both layers in one session is safe.
os.environ.update(
    TENURE_API_KEY=API_KEY,
    TENURE_READ_ONLY_API_KEY=READ_ONLY_API_KEY,
    TENURE_WEBHOOKS_ALLOW_PRIVATE="true",
    **{f"{service.upper().replace('-', '_')}_SVC_URL": CLOSED_PEER_URL for service in SERVICES},
)


@pytest.fixture(scope="session")
def database_server() -> Iterator[str]:
    """The PostgreSQL server URL: DATABASE_URL's, else an embedded server of this test process."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    state_dir = ROOT / ".tenure" / f"service-{os.getpid()}"
    postgres = EmbeddedPostgres(state_dir / "pgdata")
    try:
        yield postgres.start()
    finally:
        postgres.stop()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture(scope="session")
async def engines(database_server: str) -> AsyncIterator[dict[str, AsyncEngine]]:
    """Every service's database, migrated to head, named for this xdist worker (and this run, so that
    runs sharing an external server never meet)."""
    prefix = f"tenure_svc_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:6]}_"
    await asyncio.to_thread(migrate_all, database_server, prefix)
    # One connection per service is all a test uses (the app's sessions and the test's share it).
    by_service = {
        service: make_engine(service_database_url(database_server, service, prefix), pool_size=1) for service in SERVICES
    }
    try:
        yield by_service
    finally:
        for engine in by_service.values():
            await engine.dispose()
        if os.environ.get("DATABASE_URL"):  # an embedded server goes with its data directory
            await drop_databases(database_server, prefix)


async def drop_databases(server_url: str, prefix: str) -> None:
    admin = await connect_raw(service_database_url(server_url, "postgres", prefix=""))
    try:
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database_name(service, prefix)}" WITH (FORCE)')
    finally:
        await admin.close()


@dataclass
class ServiceUnderTest:
    """One service's app, its database connection inside the test's transaction, and clients of its app."""

    name: str
    app: FastAPI
    connection: AsyncConnection
    # The test's own session on that connection, for arranging rows and asserting them.
    session: AsyncSession
    # A client with the admin key (the environment's TENURE_API_KEY).
    client: httpx.AsyncClient
    _callers: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def internal_token(self) -> str:
        return self.app.state.settings.internal_token

    def caller(self, token: str | None) -> httpx.AsyncClient:
        """Another client of the same app: with this bearer token, or with no Authorization at all."""
        client = app_client(self.app, self.name, {"Authorization": f"Bearer {token}"} if token else {})
        self._callers.append(client)
        return client

    async def close(self) -> None:
        for client in (self.client, *self._callers):
            await client.aclose()
        await self.session.close()


def import_app(service: str) -> FastAPI:
    """The service's app module, imported once per process with the service's tables in a MetaData of
    their own: the services share one declarative Base, whose MetaData holds only one `customer_accounts`
    (invoicing, credit and notification each declare theirs, in their own databases). Production runs
    one service per process; here all six live in one. The mechanism tables stay in the shared MetaData."""
    module = f"{PACKAGES[service]}.main"
    if module not in sys.modules:
        importlib.import_module("tenure_shared.app")
        shared = Base.metadata
        Base.metadata = MetaData(naming_convention=NAMING_CONVENTION)
        try:
            importlib.import_module(module)
        finally:
            Base.metadata = shared
    return sys.modules[module].app


def app_client(app: FastAPI, service: str, headers: dict) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=f"http://{service}.service.test", headers=headers)


class ServiceLayer:
    """The services a test opened, each on a connection in a transaction rolled back when the test ends."""

    def __init__(self, engines: dict[str, AsyncEngine]):
        self._engines = engines
        self._opened: dict[str, ServiceUnderTest] = {}

    async def open(self, service: str) -> ServiceUnderTest:
        if service in self._opened:
            return self._opened[service]
        app = import_app(service)
        connection = await self._engines[service].connect()
        await connection.begin()
        # SQLAlchemy's "join a session into an external transaction": the app's own `session.begin()`
        # and commit become a savepoint and its release, so a route's transaction (and a refusal's
        # rollback) behaves as in production while the test's outer transaction keeps everything.
        # The app's session factory is replaced rather than the DbSession dependency overridden, so
        # `db_session` (which marks idempotency keys committed) and the Idempotency and API-key
        # middlewares, which open sessions of their own, run their real code on this connection.
        sessions = async_sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")
        app.state.session_factory = sessions
        settings = app.state.settings
        # A fresh bucket per test: in-process requests are fast enough to drain one across tests.
        app.state.rate_limiter = RateLimiter(per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
        # Fresh verdicts per test too. The other services ask subscription-svc over HTTP who holds a
        # key; here they ask its lookup directly, on its database in this test's transaction.
        app.state.key_verifier = KeyVerifier(local_key_lookup(app) if service == "subscription" else self._subscription_lookup)
        opened = ServiceUnderTest(
            name=service,
            app=app,
            connection=connection,
            session=sessions(),
            client=app_client(app, service, {"Authorization": f"Bearer {API_KEY}"}),
        )
        self._opened[service] = opened
        return opened

    async def _subscription_lookup(self, key_hash: str) -> Principal | None:
        keeper = await self.open("subscription")
        async with keeper.app.state.session_factory() as session, session.begin():
            return await lookup_principal(session, key_hash)

    async def close(self) -> None:
        for opened in self._opened.values():
            await opened.close()
            await opened.connection.rollback()
            await opened.connection.close()


@pytest.fixture
async def services(engines) -> AsyncIterator[ServiceLayer]:
    """Open any service with `await services.open(name)` (for tests parametrized by service)."""
    layer = ServiceLayer(engines)
    try:
        yield layer
    finally:
        await layer.close()


@pytest.fixture
async def subscription(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("subscription")


@pytest.fixture
async def invoicing(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("invoicing")


@pytest.fixture
async def dunning(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("dunning")


@pytest.fixture
async def credit(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("credit")


@pytest.fixture
async def health_score(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("health-score")


@pytest.fixture
async def notification(services: ServiceLayer) -> ServiceUnderTest:
    return await services.open("notification")
