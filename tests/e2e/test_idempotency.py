"""Idempotency-Key on mutating POSTs: replay, reuse with another body, and a retry while in flight."""

from __future__ import annotations

import hashlib
import json
import uuid

from tenure_shared.db import connect_raw, service_database_url
from tenure_shared.idempotency import request_fingerprint
from tests.support.client import TenureClient


def _customer_body(email: str) -> dict:
    return {"email": email, "name": "Idem", "currency": "USD"}


def test_retry_with_same_key_and_body_replays_the_first_response(api: TenureClient):
    key = str(uuid.uuid4())
    first = api.request(
        "subscription", "POST", "/v1/customers", json=_customer_body("idem@example.com"), headers={"Idempotency-Key": key}
    )
    again = api.request(
        "subscription", "POST", "/v1/customers", json=_customer_body("idem@example.com"), headers={"Idempotency-Key": key}
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    emails = [c["email"] for c in api.list_all("subscription", "/v1/customers")]
    assert emails.count("idem@example.com") == 1


def test_same_key_with_another_body_is_refused(api: TenureClient):
    key = str(uuid.uuid4())
    api.request(
        "subscription",
        "POST",
        "/v1/customers",
        json=_customer_body("one@example.com"),
        headers={"Idempotency-Key": key},
        expect=201,
    )
    reused = api.request(
        "subscription", "POST", "/v1/customers", json=_customer_body("two@example.com"), headers={"Idempotency-Key": key}
    )
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    emails = [c["email"] for c in api.list_all("subscription", "/v1/customers")]
    assert "two@example.com" not in emails


def test_refusals_are_replayed_too(api: TenureClient):
    key = str(uuid.uuid4())
    body = {"customer_id": "cus_missing", "plan_code": "none"}
    first = api.request("subscription", "POST", "/v1/subscriptions", json=body, headers={"Idempotency-Key": key})
    again = api.request("subscription", "POST", "/v1/subscriptions", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json()


async def test_retry_while_the_first_is_still_running_gets_409(api: TenureClient, stack):
    key = str(uuid.uuid4())
    raw = json.dumps(_customer_body("inflight@example.com")).encode()
    # Stand in for a first request that is still running: its key is held, in progress.
    storage_key = hashlib.sha256(api.api_key.encode()).hexdigest()[:16] + ":" + key
    request_hash = request_fingerprint("/v1/customers", raw)
    connection = await connect_raw(service_database_url(stack.database_url, "subscription", stack.database_prefix))
    try:
        await connection.execute(
            "INSERT INTO idempotency_keys (key, request_hash, status, locked_at) VALUES ($1, $2, 'in_progress', now())",
            storage_key,
            request_hash,
        )
    finally:
        await connection.close()
    response = api.request(
        "subscription", "POST", "/v1/customers", content=raw, headers={"Idempotency-Key": key, "content-type": "application/json"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_use"
    emails = [c["email"] for c in api.list_all("subscription", "/v1/customers")]
    assert "inflight@example.com" not in emails


def test_a_retry_sent_the_moment_the_first_reply_arrives_is_a_replay(api: TenureClient):
    # The key is marked completed before the first reply leaves, so an instant retry never sees 409.
    for n in range(20):
        key = str(uuid.uuid4())
        body = {"email": f"instant{n}@example.com", "name": "Instant", "currency": "USD"}
        first = api.request("subscription", "POST", "/v1/customers", json=body, headers={"Idempotency-Key": key})
        again = api.request("subscription", "POST", "/v1/customers", json=body, headers={"Idempotency-Key": key})
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json()["id"] == first.json()["id"]


def test_same_json_in_another_key_order_and_spacing_is_a_replay(api: TenureClient):
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key, "content-type": "application/json"}
    compact = b'{"email":"order@example.com","name":"Idem","currency":"USD"}'
    reordered = b'{ "currency" : "USD",\n  "name": "Idem", "email": "order@example.com" }'
    first = api.request("subscription", "POST", "/v1/customers", content=compact, headers=headers)
    again = api.request("subscription", "POST", "/v1/customers", content=reordered, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    emails = [c["email"] for c in api.list_all("subscription", "/v1/customers")]
    assert emails.count("order@example.com") == 1
