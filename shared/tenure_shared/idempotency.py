"""`Idempotency-Key` on every mutating POST: a retry with the same key and body replays the first
response, the same key with another body gets 422, a retry while the first runs gets 409. A JSON body
is compared as parsed JSON (key order and whitespace do not matter), any other body byte for byte.

Keys are scoped to the API key that sent them and kept at least `idempotency_key_hours`.
Server errors (5xx) are not stored, so a retry after one runs again — unless the request's effect
was committed: the key is marked `committed` in the effect's own transaction (see
`mark_effect_committed`), and such a request is never run a second time, even when the process died
before it could record the response.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, Integer, LargeBinary, String, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tenure_shared.auth import parse_bearer
from tenure_shared.clock import real_now
from tenure_shared.db import Base
from tenure_shared.errors import problem_response

# A first request that holds its key longer than this is taken to have died.
IN_PROGRESS_TIMEOUT = timedelta(seconds=60)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String, primary_key=True)
    request_hash: Mapped[str] = mapped_column(String)
    # in_progress → committed (the effect's transaction committed) → completed (response recorded)
    status: Mapped[str] = mapped_column(String)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_content_type: Mapped[str | None] = mapped_column(String)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)


def request_fingerprint(path: str, body: bytes) -> str:
    """What a repeat must match: the path and the body, canonical when it is JSON."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(path.encode() + b"\n" + canonical).hexdigest()


def key_for(token: str, client_key: str) -> str:
    """Where a client's key is stored: scoped to the API key that sent it."""
    return hashlib.sha256(token.encode()).hexdigest()[:16] + ":" + client_key


async def mark_effect_committed(session: AsyncSession, scope: Scope) -> None:
    """In the request's own transaction: this key's effect is now part of it."""
    storage_key = scope.get("state", {}).get("idempotency_key")
    if storage_key is not None:
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.key == storage_key, IdempotencyKey.status == "in_progress")
            .values(status="committed")
        )


async def delete_expired_keys(session: AsyncSession, *, older_than: datetime) -> int:
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.created_at < older_than))
    return cast(CursorResult[Any], result).rowcount or 0  # a DELETE's result is a CursorResult


class IdempotencyMiddleware:
    """Pure ASGI middleware around POST /v1/… requests that carry an Idempotency-Key."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        client_key = headers.get("idempotency-key")
        app_state = scope["app"].state
        token = parse_bearer(headers.get("authorization", ""))
        # ApiKeyMiddleware (outside this one) put the principal there once the credential was valid.
        if not client_key or token is None or "principal" not in scope.get("state", {}):
            return await self.app(scope, receive, send)
        if len(client_key) > 255:
            response = problem_response(
                422, "idempotency_key_invalid", "Invalid request", "Idempotency-Key is longer than 255 characters."
            )
            return await response(scope, receive, send)

        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        request_hash = request_fingerprint(scope["path"], body)
        storage_key = key_for(token, client_key)
        sessions: async_sessionmaker[AsyncSession] = app_state.session_factory

        early = await self._claim(sessions, storage_key, request_hash)
        if early is not None:
            return await early(scope, receive, send)
        scope.setdefault("state", {})["idempotency_key"] = storage_key

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def replay_body() -> Message:
            nonlocal body
            chunk, body = body, b""
            return {"type": "http.request", "body": chunk, "more_body": False}

        held: list[Message] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            held.append(message)

        try:
            await self.app(scope, replay_body, capture)
        finally:
            await self._finish(sessions, storage_key, captured)
        # Only now does the client see the response: a retry sent the moment it arrives finds the
        # key completed and gets the replay, not 409.
        for message in held:
            await send(message)

    async def _claim(self, sessions: async_sessionmaker[AsyncSession], storage_key: str, request_hash: str) -> Response | None:
        """Take the key, or return the response owed to a repeat."""
        now = real_now()
        async with sessions() as session, session.begin():
            inserted = (
                await session.execute(
                    insert(IdempotencyKey)
                    .values(key=storage_key, request_hash=request_hash, status="in_progress", locked_at=now)
                    .on_conflict_do_nothing(index_elements=[IdempotencyKey.key])
                    .returning(IdempotencyKey.key)
                )
            ).first()
            if inserted:
                return None
            row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.key == storage_key).with_for_update())
            if row is None:
                return None
            if row.request_hash != request_hash:
                return problem_response(
                    422,
                    "idempotency_key_reused",
                    "Idempotency key reused",
                    "This Idempotency-Key was used with a different request body.",
                )
            if row.status in ("in_progress", "committed") and now - row.locked_at < IN_PROGRESS_TIMEOUT:
                return problem_response(
                    409,
                    "idempotency_key_in_use",
                    "Idempotency key in use",
                    "A request with this Idempotency-Key is still being processed.",
                )
            if row.status == "committed":
                # The first request's effect committed, but it died before recording its response:
                # running it again would do it twice.
                return problem_response(
                    409,
                    "idempotency_response_lost",
                    "Idempotency key already used",
                    "The first request with this Idempotency-Key took effect, but its response was lost when the "
                    "server stopped. It is not run again: read the resource to see the result.",
                )
            if row.status == "in_progress":
                row.locked_at = now  # the first request died before its effect committed: this one takes over
                return None
            # completed: _finish recorded the response together with the status
            assert row.response_status is not None
            return Response(
                content=row.response_body,
                status_code=row.response_status,
                media_type=row.response_content_type,
                headers={"Idempotent-Replayed": "true"},
            )

    async def _finish(self, sessions: async_sessionmaker[AsyncSession], storage_key: str, captured: dict[str, Any]) -> None:
        async with sessions() as session, session.begin():
            row = await session.get(IdempotencyKey, storage_key, with_for_update=True)
            if row is None:
                return
            if captured["status"] >= 500:
                if row.status == "in_progress":  # nothing took effect: a retry may run again
                    await session.delete(row)
                return
            content_type = dict((k.decode().lower(), v.decode()) for k, v in captured["headers"]).get("content-type")
            row.status = "completed"
            row.response_status = captured["status"]
            row.response_body = captured["body"]
            row.response_content_type = content_type
