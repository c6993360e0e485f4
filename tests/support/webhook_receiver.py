"""A real HTTP server in the test process that receives webhooks, answers as told, and keeps
every request it got (headers and the exact body bytes) for the test to verify."""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tenure_tools.stack import free_port
from tests.support.client import TenureClient


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() of arrival

    @property
    def envelope(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        # Status codes (with headers) for the next requests, in order; then 200. An answer kept for
        # one subject (an endpoint's test event, a customer) is only given to a request about it, so
        # deliveries from other tests' endpoints cannot take it.
        self._answers: list[tuple[int, dict[str, str], str | None]] = []
        self._lock = threading.Lock()
        # While set, every request is held unanswered until release() (a receiver that hangs).
        self._holding = False
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    received = Received({k.lower(): v for k, v in self.headers.items()}, body, time.time())
                    receiver.received.append(received)
                    status, headers = receiver._next_answer(received.envelope.get("subject"))
                    holding = receiver._holding
                if holding:
                    receiver._released.wait(timeout=30)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def answer(self, *statuses: int, headers: dict[str, str] | None = None, subject: str | None = None) -> None:
        """Answer the next requests (about `subject`, when given) with these statuses (then 200 again)."""
        with self._lock:
            self._answers.extend((status, headers or {}, subject) for status in statuses)

    def _next_answer(self, subject: str | None) -> tuple[int, dict[str, str]]:
        for i, (status, headers, wanted) in enumerate(self._answers):
            if wanted is None or wanted == subject:
                del self._answers[i]
                return status, headers
        return 200, {}

    def hold(self) -> None:
        """Leave every request unanswered until release()."""
        with self._lock:
            self._holding = True
            self._released.clear()

    def release(self) -> None:
        with self._lock:
            self._holding = False
        self._released.set()

    def of(self, *, subject: str | None = None, event_type: str | None = None) -> list[Received]:
        with self._lock:
            found = list(self.received)
        return [
            r
            for r in found
            if (subject is None or r.envelope["subject"] == subject) and (event_type is None or r.envelope["type"] == event_type)
        ]

    def wait_for(self, count: int, *, timeout: float = 60.0, **match: str) -> list[Received]:
        """Wait until `count` matching requests arrived (webhooks run in real time, not clock time)."""
        deadline = time.monotonic() + timeout
        while len(found := self.of(**match)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} webhooks ({match}) arrived within {timeout} s")
            time.sleep(0.05)
        return found


@contextmanager
def webhook_endpoint(api: TenureClient, receiver: WebhookReceiver, event_types: list[str]):
    """An endpoint delivering to `receiver` for the block; deleted after, so later tests' events do not reach it."""
    endpoint = api.post("notification", "/v1/webhook-endpoints", {"url": receiver.url, "event_types": event_types})
    try:
        yield endpoint
    finally:
        api.request("notification", "DELETE", f"/v1/webhook-endpoints/{endpoint['id']}", expect=200)


def deliveries(api: TenureClient, endpoint_id: str, **params: str) -> list[dict]:
    return api.list_all("notification", f"/v1/webhook-endpoints/{endpoint_id}/deliveries", **params)
