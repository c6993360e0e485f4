"""A process that dies between committing a request's effect and recording its response must not let
a retry with the same Idempotency-Key do the effect again (real PostgreSQL, an in-process app)."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, select, text

from tenure_shared import idempotency
from tenure_shared.app import DbSession, create_app
from tenure_shared.clock import real_now
from tenure_shared.idempotency import IdempotencyKey, IdempotencyMiddleware
from tenure_shared.settings import ServiceSettings

KEY = "idempotency_crash_key"


class ProcessDied(BaseException):
    """Stands for the process stopping: nothing after it runs."""


@pytest.fixture
async def app_and_sessions(stack, mechanism_db, monkeypatch):
    url, sessions = mechanism_db
    database = url.rsplit("/", 1)[1].split("?")[0].removeprefix("tenure_")
    effects = APIRouter()

    @effects.post("/effects")
    async def make_effect(session: DbSession) -> dict:
        clock_id = f"clock_{uuid.uuid4().hex[:8]}"
        await session.execute(
            text("INSERT INTO test_clock_times (clock_id, now) VALUES (:id, :now)"), {"id": clock_id, "now": real_now()}
        )
        return {"id": clock_id}

    settings = ServiceSettings(TENURE_SERVICE=database, TENURE_API_KEY=KEY, DATABASE_URL=stack.database_url)
    app = create_app(settings=settings, title="idempotency crash test", description="", public_routers=[effects])
    async with app.router.lifespan_context(app):
        yield app, sessions


async def _effects(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(text("SELECT count(*) FROM test_clock_times"))


async def test_a_retry_after_a_crash_past_the_commit_does_not_repeat_the_effect(app_and_sessions, monkeypatch):
    app, sessions = app_and_sessions
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "crash-after-commit"}

    async def die_before_recording(self, *args, **kwargs):
        raise ProcessDied()

    monkeypatch.setattr(IdempotencyMiddleware, "_finish", die_before_recording)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        with pytest.raises(ProcessDied):
            await client.post("/v1/effects", json={}, headers=headers)
        assert await _effects(sessions) == 1
        monkeypatch.undo()
        monkeypatch.setattr(idempotency, "IN_PROGRESS_TIMEOUT", idempotency.IN_PROGRESS_TIMEOUT * 0)  # the first is long gone

        retry = await client.post("/v1/effects", json={}, headers=headers)
    assert retry.status_code == 409 and retry.json()["code"] == "idempotency_response_lost", retry.text
    assert await _effects(sessions) == 1


async def test_a_retry_after_a_crash_before_the_commit_runs_the_request(app_and_sessions, monkeypatch):
    app, sessions = app_and_sessions
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": "crash-before-commit"}
    async with sessions() as session, session.begin():  # what a request that died mid-way leaves behind
        await session.execute(
            IdempotencyKey.__table__.insert().values(
                key=idempotency.key_for(KEY, headers["Idempotency-Key"]),
                request_hash=idempotency.request_fingerprint("/v1/effects", b"{}"),
                status="in_progress",
                locked_at=real_now(),
            )
        )
    monkeypatch.setattr(idempotency, "IN_PROGRESS_TIMEOUT", idempotency.IN_PROGRESS_TIMEOUT * 0)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        first = await client.post("/v1/effects", json={}, headers=headers)
        replay = await client.post("/v1/effects", json={}, headers=headers)
    assert first.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await _effects(sessions) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1
