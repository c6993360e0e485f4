"""A billing event delivered again after a crash makes no second invoice, no second payment attempt
and spends no credit twice: the crash falls after credit-svc applied the credits (committed there)
and before invoicing committed, so the redelivery runs the whole handler again."""

from __future__ import annotations

import json

import pytest

from tenure_invoicing import config as invoicing_config
from tenure_invoicing.handlers import on_subscription_billed
from tests.e2e.money_paths import (
    SimulatedCrash,
    a_new_event_like,
    close_internal_client,
    raw,
    sessions_of,
    use_service_settings,
)
from tests.support.client import TenureClient
from tests.support.credits import manual_note, plan, subscribe


@pytest.mark.e2e
async def test_redelivered_billing_event_after_a_crash_makes_one_invoice_and_spends_credits_once(
    api: TenureClient, stack, monkeypatch
):
    clock = api.create_clock("2026-06-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, plan(api, "redelivery", 1000))
    note = manual_note(api, customer, 300)
    api.wait_ready(clock)  # invoicing has the note's credit_note.issued: it asks credit-svc only then
    event = await a_new_event_like(stack, event_type="subscription.activated", subject=customer)

    use_service_settings(monkeypatch, stack, "invoicing", invoicing_config)
    try:
        async with sessions_of(stack, "invoicing") as sessions:
            with pytest.raises(SimulatedCrash):
                async with sessions() as session, session.begin():
                    await on_subscription_billed(session, event)
                    raise SimulatedCrash  # after the credits were applied, before the commit
            async with sessions() as session, session.begin():
                await on_subscription_billed(session, event)  # the redelivery
    finally:
        await close_internal_client(invoicing_config)

    async with raw(stack, "invoicing") as invoicing:
        invoices = await invoicing.fetch("SELECT * FROM invoices WHERE source_event_id = $1", event.id)
        assert len(invoices) == 1
        invoice = invoices[0]
        payments = await invoicing.fetch("SELECT attempt_key, status FROM payments WHERE invoice_id = $1", invoice["id"])
        charges = await invoicing.fetchval(
            "SELECT count(*) FROM sandbox_charges WHERE idempotency_key LIKE $1", f"{invoice['id']}:%"
        )
    assert (invoice["total"], invoice["amount_due"], invoice["status"]) == (1000, 700, "paid")
    assert [(p["attempt_key"], p["status"]) for p in payments] == [(f"{invoice['id']}:1", "succeeded")]
    assert charges == 1

    after = api.get("credit", f"/v1/credit-notes/{note['id']}")
    assert (after["remaining"], after["status"]) == (0, "applied")
    assert [(a["invoice_id"], a["amount"]) for a in after["applications"]] == [(invoice["id"], 300)]
    async with raw(stack, "credit") as credit:
        announced = await credit.fetch(
            "SELECT envelope FROM outbox_messages WHERE event_type = 'credit_note.applied' AND envelope->'data'->>'id' = $1",
            note["id"],
        )
    # What credit-svc told the other services names the invoice that exists, once.
    applied_to = [json.loads(row["envelope"])["data"]["application"]["invoice_id"] for row in announced]
    assert applied_to == [invoice["id"]]
    assert subscription["id"] == invoice["subscription_id"]
