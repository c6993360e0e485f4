"""A 500 is problem+json and leaves the keep-alive connection usable (a real uvicorn, a test app)."""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest
import structlog
import uvicorn
from fastapi import APIRouter

from tenure_shared.app import create_app
from tenure_shared.settings import ServiceSettings
from tenure_tools.stack import free_port

KEY = "edge_test_key"


@pytest.fixture(scope="module")
def server_port():
    boom = APIRouter()

    @boom.get("/boom")
    async def explode() -> dict:
        raise RuntimeError("a bug")

    @boom.get("/fine")
    async def fine() -> dict:
        return {"ok": True}

    @boom.get("/log-context")
    async def log_context() -> dict:
        return structlog.contextvars.get_contextvars()

    settings = ServiceSettings(TENURE_SERVICE="edge-test", TENURE_API_KEY=KEY)
    app = create_app(settings=settings, title="edge test", description="", public_routers=[boom])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "test server did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def test_a_500_is_problem_json_and_the_next_request_on_the_same_connection_works(server_port):
    connection = http.client.HTTPConnection("127.0.0.1", server_port, timeout=5)
    headers = {"Authorization": f"Bearer {KEY}", "Request-Id": "trace-500"}
    connection.request("GET", "/v1/boom", headers=headers)
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 500
    assert response.getheader("content-type").startswith("application/problem+json")
    assert body["code"] == "internal_error" and body["status"] == 500
    assert response.getheader("request-id") == "trace-500"
    socket_before = connection.sock
    assert socket_before is not None, "the server closed the connection after the 500"

    connection.request("GET", "/v1/fine", headers=headers)  # raises RemoteDisconnected if the server dropped it
    again = connection.getresponse()
    assert again.status == 200 and json.loads(again.read()) == {"ok": True}
    assert connection.sock is socket_before
    connection.close()


def test_the_request_id_is_bound_into_the_requests_log_context(server_port):
    connection = http.client.HTTPConnection("127.0.0.1", server_port, timeout=5)
    connection.request("GET", "/v1/log-context", headers={"Authorization": f"Bearer {KEY}", "Request-Id": "trace-log"})
    response = connection.getresponse()
    context = json.loads(response.read())
    assert context["request_id"] == "trace-log"
    connection.request("GET", "/v1/log-context", headers={"Authorization": f"Bearer {KEY}"})
    response = connection.getresponse()
    generated = json.loads(response.read())["request_id"]
    assert generated.startswith("req_") and response.getheader("request-id") == generated
    connection.close()
