"""Idempotency-Key on mutating POSTs: replay, reuse with another body, and a retry while in flight."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text

from tenure_shared.clock import real_now
from tenure_shared.idempotency import key_for, request_fingerprint
from tests.conftest import API_KEY
from tests.service.checks import problem


def _customer_body(email: str) -> dict:
    return {"email": email, "name": "Idem", "currency": "USD"}


async def _customers_with_email(session, email: str) -> int:
    return await session.scalar(text("SELECT count(*) FROM customers WHERE email = :email"), {"email": email})


async def test_retry_with_same_key_and_body_replays_the_first_response(subscription):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await subscription.client.post("/v1/customers", json=_customer_body("idem@example.com"), headers=headers)
    again = await subscription.client.post("/v1/customers", json=_customer_body("idem@example.com"), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    assert await _customers_with_email(subscription.session, "idem@example.com") == 1


async def test_same_key_with_another_body_is_refused(subscription):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await subscription.client.post("/v1/customers", json=_customer_body("one@example.com"), headers=headers)
    assert first.status_code == 201
    reused = await subscription.client.post("/v1/customers", json=_customer_body("two@example.com"), headers=headers)
    problem(reused, 422, "idempotency_key_reused")
    assert await _customers_with_email(subscription.session, "two@example.com") == 0


async def test_refusals_are_replayed_too(subscription):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"customer_id": "cus_missing", "plan_code": "none"}
    first = await subscription.client.post("/v1/subscriptions", json=body, headers=headers)
    again = await subscription.client.post("/v1/subscriptions", json=body, headers=headers)
    assert first.status_code == again.status_code == 404
    assert again.json() == first.json()


async def test_retry_while_the_first_is_still_running_gets_409(subscription):
    key = str(uuid.uuid4())
    raw = json.dumps(_customer_body("inflight@example.com")).encode()
    # Stand in for a first request that is still running: its key is held, in progress.
    await subscription.session.execute(
        text("INSERT INTO idempotency_keys (key, request_hash, status, locked_at) VALUES (:key, :hash, 'in_progress', :now)"),
        {"key": key_for(API_KEY, key), "hash": request_fingerprint("/v1/customers", raw), "now": real_now()},
    )
    response = await subscription.client.post(
        "/v1/customers", content=raw, headers={"Idempotency-Key": key, "content-type": "application/json"}
    )
    problem(response, 409, "idempotency_key_in_use")
    assert await _customers_with_email(subscription.session, "inflight@example.com") == 0


async def test_a_retry_sent_the_moment_the_first_reply_arrives_is_a_replay(subscription):
    # The key is marked completed before the first reply leaves, so an instant retry never sees 409.
    for n in range(20):
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"email": f"instant{n}@example.com", "name": "Instant", "currency": "USD"}
        first = await subscription.client.post("/v1/customers", json=body, headers=headers)
        again = await subscription.client.post("/v1/customers", json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json()["id"] == first.json()["id"]


async def test_same_json_in_another_key_order_and_spacing_is_a_replay(subscription):
    headers = {"Idempotency-Key": str(uuid.uuid4()), "content-type": "application/json"}
    compact = b'{"email":"order@example.com","name":"Idem","currency":"USD"}'
    reordered = b'{ "currency" : "USD",\n  "name": "Idem", "email": "order@example.com" }'
    first = await subscription.client.post("/v1/customers", content=compact, headers=headers)
    again = await subscription.client.post("/v1/customers", content=reordered, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await _customers_with_email(subscription.session, "order@example.com") == 1
