"""Helpers of the money-path tests: run a service's own handler or job in this process against the
stack's databases (so a crash can be simulated between two steps), a peer that answers slowly, and
plain SQL reads of the services' tables."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg

from tenure_shared import internal_http
from tenure_shared.db import connect_raw, make_engine, make_session_factory, service_database_url
from tenure_shared.events import CloudEvent
from tenure_shared.ids import new_id

ROOT = Path(__file__).resolve().parents[2]


class SimulatedCrash(Exception):
    """Raised inside a transaction to roll it back, as a process killed at that point would."""


def database_url(stack, service: str) -> str:
    return service_database_url(stack.database_url, service, stack.database_prefix)


@asynccontextmanager
async def sessions_of(stack, service: str) -> AsyncIterator:
    engine = make_engine(database_url(stack, service))
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


@asynccontextmanager
async def raw(stack, service: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_raw(database_url(stack, service))
    try:
        yield connection
    finally:
        await connection.close()


def use_service_settings(monkeypatch, stack, service: str, config_module, **urls: str) -> None:
    """Make `config_module.get_settings()` and `internal_client()` in this process those of the
    service in the stack (its database, token and peers), with some peers' URLs replaced."""
    for name, value in {**stack.service_env(service), **urls}.items():
        monkeypatch.setenv(name, value)
    config_module.get_settings.cache_clear()
    monkeypatch.setattr(internal_http, "_client", None)


async def close_internal_client(config_module) -> None:
    if internal_http._client is not None:
        await internal_http._client.close()
        internal_http._client = None
    config_module.get_settings.cache_clear()


async def credit_step(stack, step: str, **arguments: Any) -> Any:
    """Run one of `tests.e2e.credit_steps` in a child process with credit-svc's environment (its
    `invoicing` URL may be replaced with `invoicing_url`); returns its result."""
    env = stack.service_env("credit")
    if "invoicing_url" in arguments:
        env["INVOICING_SVC_URL"] = arguments.pop("invoicing_url")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.e2e.credit_steps",
        step,
        json.dumps(arguments, default=str),
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await child.communicate()
    assert child.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def a_new_event_like(stack, *, event_type: str, subject: str) -> CloudEvent:
    """The newest `event_type` event subscription-svc sent for the customer, under a new id: a
    billing event the consumers have not seen (the same shape as a renewal's)."""
    async with raw(stack, "subscription") as connection:
        envelope = await connection.fetchval(
            "SELECT envelope FROM outbox_messages WHERE event_type = $1 AND key = $2 ORDER BY id DESC LIMIT 1",
            event_type,
            subject,
        )
    event = CloudEvent.model_validate(json.loads(envelope) if isinstance(envelope, str) else envelope)
    return event.model_copy(update={"id": new_id("evt")})


class SlowPeer:
    """A stand-in for another service that holds every request until `release()`, then answers
    `answer` as JSON with `status`. `arrived` is set when the first request is being held."""

    def __init__(self, answer: Any, status: int = 200):
        self.answer = answer
        self.status = status
        self.arrived = threading.Event()
        self._released = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("content-length", 0)))
                peer.arrived.set()
                peer._released.wait(30)
                body = json.dumps(peer.answer).encode()
                self.send_response(peer.status)
                self.send_header("content-type", "application/problem+json" if peer.status >= 400 else "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    async def wait_for_call(self, timeout: float = 30) -> None:
        assert await asyncio.to_thread(self.arrived.wait, timeout), "the peer was never called"

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()


async def while_peer_holds(peer: SlowPeer, use_case, check) -> Any:
    """Run `use_case()` (a coroutine function); once it is waiting on the slow peer, run `check()`,
    then let the peer answer. Returns what `check()` returned; `use_case` must end in
    SimulatedCrash (its transaction rolled back) or normally."""
    running = asyncio.create_task(use_case())
    try:
        await peer.wait_for_call()
        return await check()
    finally:
        peer.release()
        try:
            await running
        except SimulatedCrash:
            pass


async def lockable_now(stack, service: str, table: str, where: str, *args: Any) -> bool:
    """Can another connection lock these rows right now (FOR UPDATE NOWAIT)?"""
    async with raw(stack, service) as connection:
        try:
            async with connection.transaction():
                await connection.execute(f"SELECT 1 FROM {table} WHERE {where} FOR UPDATE NOWAIT", *args)
            return True
        except asyncpg.LockNotAvailableError:
            return False
