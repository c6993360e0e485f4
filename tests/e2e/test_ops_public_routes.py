"""The ops routes under /v1 for an admin key (the console's way in) on a real dead letter. Scopes and
the OpenAPI of these routes: tests/service/test_ops_public_routes.py."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx

from tenure_shared.events import CloudEvent
from tests.conftest import API_KEY
from tests.e2e.test_resilience_dead_letters import _publish


def _call(stack, key: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(method, stack.url("invoicing") + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)


def _dead_letter(stack) -> str:
    event = CloudEvent(
        id=f"evt_{uuid.uuid4().hex}",
        type="customer.created",
        source="itest",
        subject=f"cus_{uuid.uuid4().hex[:8]}",
        time=datetime(2026, 3, 1, tzinfo=UTC),
        data={"not": "a customer"},
    )
    _publish(stack.kafka_bootstrap, event)
    for _ in range(200):
        response = _call(stack, API_KEY, "GET", f"/v1/dead-letters/{event.id}")
        if response.status_code == 200 and response.json()["status"] == "dead_lettered":
            return event.id
        time.sleep(0.1)
    raise AssertionError(f"{event.id} never dead-lettered: {response.text}")


def test_an_admin_key_lists_replays_and_discards_a_dead_letter(stack):
    event_id = _dead_letter(stack)
    listed = _call(stack, API_KEY, "GET", "/v1/dead-letters", params={"status": "dead_lettered"}).json()["data"]
    assert event_id in [d["event_id"] for d in listed]

    replay = _call(stack, API_KEY, "POST", f"/v1/dead-letters/{event_id}/replay")
    assert replay.status_code == 202 and replay.json()["status"] == "replay_requested", replay.text
    discarded = _call(stack, API_KEY, "POST", f"/v1/dead-letters/{event_id}/discard")
    assert discarded.json()["status"] == "discarded", discarded.text
    view = _call(stack, API_KEY, "GET", "/v1/ops").json()
    assert view["service"] == "invoicing" and view["dead_letters"].get("discarded", 0) >= 1
