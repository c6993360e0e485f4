"""The FastAPI app every service builds: errors, auth, idempotency, health, docs, test-clock sync."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp

from tenure_shared import ops, test_clock_sync
from tenure_shared.auth import (
    ApiKeyMiddleware,
    KeyLookup,
    KeyVerifier,
    api_key_scheme,
    refuse_unmarked_routes_to_customers,
    remote_key_lookup,
)
from tenure_shared.broker import cluster_id, make_admin
from tenure_shared.db import make_engine, make_session_factory
from tenure_shared.deferred import run_deferred
from tenure_shared.due_work import DueWorkRunner, JobHandler
from tenure_shared.edge import BadBytesMiddleware, InternalAuthMiddleware, RequestIdMiddleware, UnhandledErrorGuard
from tenure_shared.errors import install_error_handlers
from tenure_shared.idempotency import IdempotencyMiddleware, mark_effect_committed
from tenure_shared.logging import configure_logging
from tenure_shared.openapi import install_openapi
from tenure_shared.rate_limit import RateLimiter
from tenure_shared.settings import ServiceSettings
from tenure_shared.worker import freeze_startup_heap


async def db_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed after the route returns, rolled back on error.

    Under an Idempotency-Key, the key is marked `committed` in this same transaction, so a retry
    after a crash can tell a request whose effect happened from one that never got that far.
    """
    async with request.app.state.session_factory() as session, session.begin():
        yield session
        await run_deferred(session)
        await mark_effect_committed(session, request.scope)


class TenureApp(FastAPI):
    def build_middleware_stack(self) -> ASGIApp:
        # Outside Starlette's ServerErrorMiddleware, so a 500 too carries Request-Id and ends cleanly.
        return RequestIdMiddleware(UnhandledErrorGuard(super().build_middleware_stack()))


# scope="function": commit before the response is sent, so a client never reads its own write stale.
DbSession = Annotated[AsyncSession, Depends(db_session, scope="function")]


def create_app(
    *,
    settings: ServiceSettings,
    title: str,
    description: str,
    public_routers: Sequence[APIRouter],
    internal_routers: Sequence[APIRouter] = (),
    job_handlers: dict[str, JobHandler] | None = None,
    consumed_topics: Sequence[str] = (),
    page_routers: Sequence[APIRouter] = (),
    key_lookup: Callable[[FastAPI], KeyLookup] | None = None,
) -> FastAPI:
    """`page_routers` are served at the root, outside `/v1` and its API-key check (the customer
    portal's pages). `key_lookup` builds how this app looks credentials up (subscription-svc reads
    its own tables); by default they are verified by asking subscription-svc."""
    configure_logging(service=settings.service_name, log_format=settings.log_format, level=settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.service_database_url())
        app.state.session_factory = make_session_factory(engine)
        app.state.due_work = DueWorkRunner(app.state.session_factory, job_handlers or {})
        freeze_startup_heap()
        try:
            yield
        finally:
            await engine.dispose()

    app = TenureApp(title=title, description=description, version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_offline_docs(app)
    app.state.settings = settings
    app.state.consumed_topics = tuple(consumed_topics)
    app.state.key_verifier = KeyVerifier(key_lookup(app) if key_lookup else remote_key_lookup(settings))
    app.state.rate_limiter = RateLimiter(per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst)
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(IdempotencyMiddleware)
    app.add_middleware(ApiKeyMiddleware)
    app.add_middleware(InternalAuthMiddleware)
    app.add_middleware(BadBytesMiddleware)  # added last = runs first
    for router in public_routers:
        app.include_router(
            router, prefix="/v1", dependencies=[Depends(api_key_scheme), Depends(refuse_unmarked_routes_to_customers)]
        )
    app.include_router(
        ops.public_router, prefix="/v1", dependencies=[Depends(api_key_scheme), Depends(refuse_unmarked_routes_to_customers)]
    )
    for router in page_routers:
        app.include_router(router, include_in_schema=False)
    app.include_router(test_clock_sync.router)
    app.include_router(ops.router)
    for router in internal_routers:
        app.include_router(router, prefix="/internal", include_in_schema=False)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": settings.service_name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": "ok", "broker": "ok"}
        try:
            async with request.app.state.session_factory() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:
            checks["database"] = repr(exc)
        admin = make_admin(settings.kafka_bootstrap_servers)
        try:
            await asyncio.wait_for(admin.start(), timeout=3)
            await asyncio.wait_for(cluster_id(admin), timeout=3)
        except Exception as exc:
            checks["broker"] = repr(exc) or "unreachable"
        finally:
            await admin.close()
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    return app


def install_offline_docs(app: FastAPI) -> None:
    """`/docs` served with Swagger UI from the fastapi-offline wheel, not a CDN: operators read the
    docs on machines without internet access."""
    spec = importlib.util.find_spec("fastapi_offline")
    # A dependency of tenure-shared, installed as a regular package (a module file, not a namespace).
    assert spec is not None and spec.origin is not None
    assets = Path(spec.origin).parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        assert app.openapi_url is not None  # create_app keeps the schema route on
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} — API docs",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )
