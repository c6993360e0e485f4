"""Webhook endpoints against a real receiver in the test process: signatures verified with the
standardwebhooks library, 410 disables, 429 waits out Retry-After, secret rotation signs with both
secrets, manual retry, the public event types, and deliveries surviving a killed worker."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.support.client import ApiError, TenureClient
from tests.support.lifecycle import customer
from tests.support.webhook_receiver import WebhookReceiver, webhook_endpoint


def _wait_for(check, timeout: float = 30.0):
    """Poll `check()` until it returns something truthy (webhooks run in real time)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return found


def _send_test(api: TenureClient, endpoint: dict) -> dict:
    return api.post("notification", f"/v1/webhook-endpoints/{endpoint['id']}/test")


def _endpoint(api: TenureClient, endpoint_id: str) -> dict:
    return api.get("notification", f"/v1/webhook-endpoints/{endpoint_id}")


def _delivery(api: TenureClient, delivery_id: str) -> dict:
    return api.get("notification", f"/v1/webhook-deliveries/{delivery_id}")


def test_a_410_disables_the_endpoint(api: TenureClient, receiver: WebhookReceiver):
    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        receiver.answer(410, subject=endpoint["id"])
        delivery = _send_test(api, endpoint)
        [gone] = receiver.wait_for(1, subject=endpoint["id"])
        assert gone.envelope["type"] == "webhook.test"
        disabled = _wait_for(lambda: (e := _endpoint(api, endpoint["id"]))["status"] == "disabled" and e)
        assert "410" in disabled["disabled_reason"] and disabled["secret"] is None
        delivery = _delivery(api, delivery["id"])
        assert delivery["status"] == "failed" and [a["status_code"] for a in delivery["attempts"]] == [410]

        refused = api.request("notification", "POST", f"/v1/webhook-endpoints/{endpoint['id']}/test")
        assert (refused.status_code, refused.json()["code"]) == (409, "webhook_endpoint_disabled")
        refused = api.request("notification", "POST", f"/v1/webhook-deliveries/{delivery['id']}/retry")
        assert (refused.status_code, refused.json()["code"]) == (409, "webhook_endpoint_disabled")

        api.patch("notification", f"/v1/webhook-endpoints/{endpoint['id']}", {"status": "enabled"})
        again = api.post("notification", f"/v1/webhook-deliveries/{delivery['id']}/retry")
        assert again["status"] == "pending"
        receiver.wait_for(2, subject=endpoint["id"])
        done = _wait_for(lambda: (d := _delivery(api, delivery["id"]))["status"] == "succeeded" and d)
        assert [a["status_code"] for a in done["attempts"]] == [410, 200]


def test_rotation_signs_with_both_secrets_during_the_overlap(api: TenureClient, receiver: WebhookReceiver):
    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        old = endpoint["secret"]
        rotated = api.post("notification", f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
        new = rotated["secret"]
        assert new.startswith("whsec_") and new != old
        assert rotated["previous_secret_expires_at"] is not None
        # The secret is shown on create and rotate only.
        assert api.get("notification", f"/v1/webhook-endpoints/{endpoint['id']}")["secret"] is None

        _send_test(api, endpoint)
        [request] = receiver.wait_for(1, subject=endpoint["id"])
        assert len(request.headers["webhook-signature"].split(" ")) == 2
        for secret in (new, old):
            assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
        with pytest.raises(WebhookVerificationError):
            Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
        tampered = request.body.replace(b"A test event", b"A forged event")
        with pytest.raises(WebhookVerificationError):
            Webhook(new).verify(tampered, request.headers)


def test_a_429_waits_at_least_its_retry_after(api: TenureClient, receiver: WebhookReceiver):
    receiver.answer(429, headers={"Retry-After": "7"})
    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        delivery = _send_test(api, endpoint)
        first, second = receiver.wait_for(2, subject=endpoint["id"], timeout=60)
        assert second.headers["webhook-id"] == first.headers["webhook-id"]
        assert second.at - first.at >= 7  # not the schedule's 5 s: the receiver asked for 7
        done = _wait_for(lambda: (d := _delivery(api, delivery["id"]))["status"] == "succeeded" and d)
        assert [a["status_code"] for a in done["attempts"]] == [429, 200]


def test_manual_retry_sends_at_once(api: TenureClient, receiver: WebhookReceiver):
    receiver.answer(503)
    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        delivery = _send_test(api, endpoint)
        receiver.wait_for(1, subject=endpoint["id"])
        failed = _wait_for(lambda: (d := _delivery(api, delivery["id"]))["attempt_count"] == 1 and d)
        assert failed["status"] == "pending" and failed["attempts"][0]["error"] == "answered 503"
        assert datetime.fromisoformat(failed["next_attempt_at"]) > datetime.fromisoformat(failed["attempts"][0]["attempted_at"])
        api.post("notification", f"/v1/webhook-deliveries/{delivery['id']}/retry")
        done = _wait_for(lambda: (d := _delivery(api, delivery["id"]))["status"] == "succeeded" and d)
        assert [a["status_code"] for a in done["attempts"]] == [503, 200]
        assert all(a["duration_ms"] >= 0 for a in done["attempts"])


def test_every_public_event_of_a_customer_and_nothing_internal(api: TenureClient, catalog, receiver: WebhookReceiver):
    types = {t["type"]: t for t in api.get("notification", "/v1/event-types")["data"]}
    assert {"invoice.paid", "payment.failed", "subscription.renewed", "customer.created", "dunning.exhausted"} <= set(types)
    assert "metric.created" not in types and not any(t.endswith(".dlq") for t in types)
    assert "amount_paid" in types["invoice.paid"]["data_schema"]["properties"]
    assert types["invoice.paid"]["schema_version"]

    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        # An internal instruction (metric.created) on the same topic as the customer's events.
        api.post("subscription", "/v1/metrics", {"code": api.unique("seats"), "name": "Seats", "aggregation": "sum"})
        clock = api.create_clock("2026-03-01T00:00:00Z")
        cus = customer(api, clock)
        api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        expected = {"customer.created", "subscription.created", "subscription.activated", "invoice.created", "invoice.paid"}
        expected.add("payment.succeeded")
        _wait_for(lambda: expected <= {r.envelope["type"] for r in receiver.of(subject=cus)})
        got = receiver.of(subject=cus)
        assert all(r.envelope["type"] in types for r in receiver.of())
        created = next(r.envelope for r in got if r.envelope["type"] == "subscription.created")
        assert created["data"]["plan_code"] == catalog["pro"] and "bill_lines" not in created["data"]
        assert "bill_lines" not in types["subscription.created"]["data_schema"]["properties"]
        for request in got:
            Webhook(endpoint["secret"]).verify(request.body, request.headers)
        assert len({r.headers["webhook-id"] for r in got}) == len(got)


def test_a_receiver_that_hangs_does_not_hold_up_another(api: TenureClient):
    hanging, quick = WebhookReceiver().start(), WebhookReceiver().start()
    hanging.hold()
    try:
        with webhook_endpoint(api, hanging, ["*"]) as slow, webhook_endpoint(api, quick, ["*"]) as fast:
            stuck = _send_test(api, slow)
            [held] = hanging.wait_for(1, subject=slow["id"])
            _send_test(api, fast)
            [answered] = quick.wait_for(1, subject=fast["id"])
            hanging.release()
            timed_out = _wait_for(lambda: (d := _delivery(api, stuck["id"]))["attempt_count"] == 1 and d)
            # The quick receiver got its delivery while the other attempt was still waiting for an answer.
            assert answered.at < held.at + timed_out["attempts"][0]["duration_ms"] / 1000
    finally:
        hanging.stop()
        quick.stop()


def test_bad_endpoints_are_refused(api: TenureClient):
    for body, code in [
        ({"url": "ftp://example.com/hook", "event_types": ["*"]}, "webhook_url_refused"),
        ({"url": "http://127.0.0.1:9/hook", "event_types": ["metric.created"]}, "unknown_event_type"),
        ({"url": "http://127.0.0.1:9/hook", "event_types": ["invoice.paid.dlq"]}, "unknown_event_type"),
        ({"url": "http://no-such-host.invalid/hook", "event_types": ["*"]}, "webhook_url_refused"),
    ]:
        with pytest.raises(ApiError) as refused:
            api.post("notification", "/v1/webhook-endpoints", body)
        assert (refused.value.response.status_code, refused.value.response.json()["code"]) == (422, code)


def test_deliveries_are_rows_a_killed_worker_sends_after_its_restart(api: TenureClient, stack, receiver: WebhookReceiver):
    with webhook_endpoint(api, receiver, ["*"]) as endpoint:
        worker = stack.processes[("notification", "worker")]
        worker.kill()
        try:
            delivery = _send_test(api, endpoint)
            assert delivery["status"] == "pending" and delivery["attempts"] == []
        finally:
            worker.start()
        [request] = receiver.wait_for(1, subject=endpoint["id"], timeout=60)
        assert request.headers["webhook-id"] == delivery["event_id"]
        _wait_for(lambda: _delivery(api, delivery["id"])["status"] == "succeeded")
