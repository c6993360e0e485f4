"""Failure classes of service-to-service calls, against a real HTTP server on a loopback port."""

from __future__ import annotations

import asyncio

import pytest
import uvicorn
from fastapi import FastAPI, Request

from tenure_shared.errors import NotFound, install_error_handlers
from tenure_shared.failures import is_transient
from tenure_shared.internal_http import DependencyUnavailable, InternalClient, PeerRefused, quote_id
from tenure_shared.settings import ServiceSettings
from tenure_tools.stack import free_port


def _peer() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/internal/things/{thing_id}")
    async def thing(thing_id: str, request: Request) -> dict:
        return {"id": thing_id, "raw_path": request.scope["raw_path"].decode()}

    @app.get("/internal/missing")
    async def missing() -> dict:
        raise NotFound("No such thing.", code="thing_not_found")

    @app.get("/internal/broken")
    async def broken() -> dict:
        raise RuntimeError("the peer's database is away")

    @app.get("/internal/slow")
    async def slow() -> dict:
        await asyncio.sleep(3)
        return {}

    return app


@pytest.fixture
async def peer_client():
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(_peer(), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    settings = ServiceSettings(
        SUBSCRIPTION_SVC_URL=f"http://127.0.0.1:{port}", INVOICING_SVC_URL=f"http://127.0.0.1:{free_port()}"
    )
    client = InternalClient(settings, timeout=1.0)
    try:
        yield client
    finally:
        await client.close()
        server.should_exit = True
        await task


async def test_a_4xx_is_a_deterministic_refusal_with_the_peers_code(peer_client):
    with pytest.raises(PeerRefused) as refused:
        await peer_client.request("subscription", "GET", "/internal/missing")
    assert (refused.value.code, refused.value.status, refused.value.service) == ("thing_not_found", 404, "subscription")
    assert not is_transient(refused.value)


async def test_a_5xx_a_timeout_and_a_refused_connection_are_transient(peer_client):
    for service, path in [("subscription", "/internal/broken"), ("subscription", "/internal/slow"), ("invoicing", "/internal/x")]:
        with pytest.raises(DependencyUnavailable) as unavailable:
            await peer_client.request(service, "GET", path)
        assert is_transient(unavailable.value), path


async def test_ids_are_percent_encoded_and_unencoded_paths_refused(peer_client):
    for raw in ["a?b", "a#b", "x y", "a%3Fb"]:
        answer = await peer_client.request("subscription", "GET", f"/internal/things/{quote_id(raw)}")
        assert answer["id"] == raw
    for raw in ["../missing", "a/b"]:  # a slash stays inside the one segment: no other route is reached
        with pytest.raises(PeerRefused) as refused:
            await peer_client.request("subscription", "GET", f"/internal/things/{quote_id(raw)}")
        assert refused.value.code == "route_not_found"
    for unsafe in ["/internal/things/a?b", "/internal/things/../admin", "/internal/things/a#b", "/internal/things/x y", "/x\x00"]:
        with pytest.raises(ValueError):
            await peer_client.request("subscription", "GET", unsafe)


async def test_a_get_cut_on_a_reused_connection_is_asked_again():
    """The keep-alive race: the peer closes an idle connection just as the client reuses it. The first
    connection here reads the request and closes without answering; the next one answers."""
    connections = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if connections > 1:
            writer.write(b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 12\r\n\r\n{"ok": true}')
            await writer.drain()
        writer.close()

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    client = InternalClient(ServiceSettings(SUBSCRIPTION_SVC_URL=f"http://127.0.0.1:{port}"))
    try:
        assert await client.request("subscription", "GET", "/internal/things") == {"ok": True}
        assert connections == 2
    finally:
        await client.close()
        server.close()
