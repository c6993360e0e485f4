"""The ops routes under /v1 for an admin key (the console's way in): same functions as /internal."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import httpx

from tenure_shared.events import CloudEvent
from tests.conftest import API_KEY, READ_ONLY_API_KEY
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


def test_a_read_key_is_refused_every_ops_route(stack):
    reads = [("GET", "/v1/ops"), ("GET", "/v1/dead-letters"), ("GET", "/v1/dead-letters/evt_x"), ("GET", "/v1/jobs")]
    writes = [("POST", "/v1/dead-letters/evt_x/replay"), ("POST", "/v1/dead-letters/evt_x/discard"), ("POST", "/v1/jobs/1/retry")]
    for method, path in reads + writes:
        refused = _call(stack, READ_ONLY_API_KEY, method, path)
        assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope"), (path, refused.text)
        assert _call(stack, "wrong", method, path).status_code == 401
    # The service token is for /internal only.
    assert _call(stack, stack.internal_token, "GET", "/v1/ops").status_code == 401


def test_an_admin_key_lists_replays_and_discards_a_dead_letter_and_sees_failed_jobs(stack):
    event_id = _dead_letter(stack)
    listed = _call(stack, API_KEY, "GET", "/v1/dead-letters", params={"status": "dead_lettered"}).json()["data"]
    assert event_id in [d["event_id"] for d in listed]

    replay = _call(stack, API_KEY, "POST", f"/v1/dead-letters/{event_id}/replay")
    assert replay.status_code == 202 and replay.json()["status"] == "replay_requested", replay.text
    discarded = _call(stack, API_KEY, "POST", f"/v1/dead-letters/{event_id}/discard")
    assert discarded.json()["status"] == "discarded", discarded.text

    jobs = _call(stack, API_KEY, "GET", "/v1/jobs", params={"status": "failed"})
    assert jobs.status_code == 200 and all(j["status"] == "failed" for j in jobs.json()["data"])
    missing = _call(stack, API_KEY, "POST", "/v1/jobs/999999999/retry")
    assert (missing.status_code, missing.json()["code"]) == (404, "job_not_found")
    view = _call(stack, API_KEY, "GET", "/v1/ops").json()
    assert view["service"] == "invoicing" and view["dead_letters"].get("discarded", 0) >= 1


def test_the_openapi_documents_the_ops_routes_with_problems(stack):
    paths = httpx.get(stack.url("dunning") + "/openapi.json", timeout=10).json()["paths"]
    ops_paths = {"/v1/ops", "/v1/dead-letters", "/v1/dead-letters/{event_id}/replay", "/v1/jobs", "/v1/jobs/{job_id}/retry"}
    assert ops_paths <= set(paths)
    replay = paths["/v1/dead-letters/{event_id}/replay"]["post"]["responses"]
    assert {"401", "403", "404", "409"} <= set(replay)
    assert "403" in paths["/v1/ops"]["get"]["responses"]
    assert not any(p.startswith("/internal") for p in paths)
