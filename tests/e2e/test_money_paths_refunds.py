"""A refund never pays out twice: not when the process dies after the gateway paid and the client
asks again, not when a cancellation's refund event is delivered again after a crash. (credit-svc's
steps run in a child process: see `credit_steps`.)"""

from __future__ import annotations

import pytest

from tests.e2e.money_paths import SlowPeer, a_new_event_like, credit_step, raw
from tests.support.client import TenureClient
from tests.support.credits import manual_note, plan, subscribe
from tests.support.lifecycle import account_settings


async def _gateway_refunds(stack, customer: str) -> list:
    async with raw(stack, "invoicing") as invoicing:
        return await invoicing.fetch(
            "SELECT idempotency_key, amount, succeeded FROM sandbox_refunds WHERE customer_id = $1", customer
        )


@pytest.mark.e2e
async def test_a_crash_after_the_gateway_paid_never_refunds_twice(api: TenureClient, stack):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "refund-crash", 1000))
    note = manual_note(api, customer, 2500)

    assert await credit_step(stack, "refund_then_crash", credit_note_id=note["id"]) == "crashed"
    assert len(await _gateway_refunds(stack, customer)) == 1  # the money went out

    # The client, having had no answer, asks again: the amount is already on its way out.
    retried = api.request("credit", "POST", "/v1/refunds", json={"credit_note_id": note["id"]})
    assert retried.status_code in (409, 422), retried.text
    # The sweep (a due job) settles the pending refund with the gateway's first answer.
    assert await credit_step(stack, "sweep") >= 1

    assert [(r["amount"], r["succeeded"]) for r in await _gateway_refunds(stack, customer)] == [(2500, True)]
    [refund] = api.get("credit", "/v1/refunds", params={"credit_note_id": note["id"]})["data"]
    assert (refund["status"], refund["amount"]) == ("succeeded", 2500)
    after = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (after["remaining"], after["refunded"], after["status"]) == (0, 2500, "refunded")


@pytest.mark.e2e
def test_a_refund_the_gateway_refuses_gives_the_amount_back_to_the_note(api: TenureClient):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "refund-refused", 1000), payment_method=None)
    note = manual_note(api, customer, 700)
    refused = api.request("credit", "POST", "/v1/refunds", json={"credit_note_id": note["id"]}, expect=402).json()
    assert refused["code"] == "refund_failed"
    after = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (after["remaining"], after["refunded"], after["status"]) == (700, 0, "open")
    [refund] = api.get("credit", "/v1/refunds", params={"credit_note_id": note["id"]})["data"]
    assert (refund["status"], refund["failure_code"]) == ("failed", "no_payment_method")


@pytest.mark.e2e
async def test_a_cancellation_refund_delivered_again_after_a_crash_pays_out_once(api: TenureClient, stack):
    with account_settings(api, redeem_credits=False):
        clock = api.create_clock("2026-04-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, plan(api, "refund-event", 3000))
        api.advance(clock, "2026-04-16T00:00:00Z")
        api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": "now", "unused_amount": "refund"})
        api.wait_ready(clock)
    event = await a_new_event_like(stack, event_type="subscription.cancelled", subject=customer)
    [request] = event.data["credit_requests"]
    request["key"] = f"{request['key']}:again"  # a refund the consumers have not seen
    envelope = event.model_dump(mode="json")

    # After the gateway paid, before the note was committed; then the redelivery.
    assert await credit_step(stack, "consume", event=envelope, crash=True) == "crashed"
    assert await credit_step(stack, "consume", event=envelope, crash=False) == "committed"

    key = f"refund:{request['key']}"
    assert [r["idempotency_key"] for r in await _gateway_refunds(stack, customer)].count(key) == 1
    async with raw(stack, "credit") as credit:
        refunds = await credit.fetch("SELECT status, amount FROM refunds WHERE refund_key = $1", key)
        note = await credit.fetchrow(
            "SELECT amount, remaining, refunded, status FROM credit_notes WHERE source_key = $1", request["key"]
        )
    assert [(r["status"], r["amount"]) for r in refunds] == [("succeeded", note["amount"])]
    assert (note["remaining"], note["refunded"], note["status"]) == (0, note["amount"], "refunded")


@pytest.mark.e2e
async def test_a_refund_the_gateway_service_refuses_for_good_is_settled_failed(api: TenureClient, stack):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, _ = subscribe(api, clock, plan(api, "refund-refusal", 1000))
    note = manual_note(api, customer, 600)
    invoicing = SlowPeer({"status": 404, "code": "customer_not_found", "detail": "No customer."}, status=404)
    invoicing.release()
    try:
        assert await credit_step(stack, "refund", credit_note_id=note["id"], invoicing_url=invoicing.url) == "failed"
    finally:
        invoicing.close()
    # Not left pending with its amount held: the credit is back on the note.
    after = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (after["remaining"], after["refunded"], after["status"]) == (600, 0, "open")
    [refund] = api.get("credit", "/v1/refunds", params={"credit_note_id": note["id"]})["data"]
    assert (refund["status"], refund["failure_code"]) == ("failed", "customer_not_found")
