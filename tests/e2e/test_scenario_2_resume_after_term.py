"""Scenario 2 of lifecycle-examples.md: resume after the term ended (monthly). The credit note and
the new period's invoice come from the same `subscription.resumed` event; the credit is spent on
that invoice at once.
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, redeem_credits, subscribe


@pytest.mark.parametrize("redeem", [True, False], ids=["redeem_credits_on", "redeem_credits_off"])
def test_resume_after_the_term_starts_a_new_period_with_the_credit_applied(api: TenureClient, redeem: bool):
    with redeem_credits(api, redeem):
        support = plan(api, "support-monthly", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, support)
        sub_id = subscription["id"]

        api.advance(clock, "2026-06-15T00:00:00Z")
        paused = api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {})
        assert (paused["status"], paused["pause"], paused["credit_preview"]) == (
            "paused",
            {"paused_at": "2026-06-15T00:00:00Z", "resume_at": None},
            None,
        )

        api.advance(clock, "2026-07-05T00:00:00Z")
        assert len(api.invoices(customer_id=customer)) == 1  # nothing invoiced on 2026-07-01
        assert credit_notes(api, customer_id=customer) == []
        still = api.get("subscription", f"/v1/subscriptions/{sub_id}")
        assert (still["status"], still["current_period_end"]) == ("paused", "2026-07-01T00:00:00Z")

        resumed = api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {})
        assert resumed["credit_preview"] == {"unused_days": 16, "period_days": 30, "amount": 16000, "currency": "USD"}
        assert (resumed["status"], resumed["current_period_start"], resumed["current_period_end"], resumed["renews_at"]) == (
            "active",
            "2026-07-05T00:00:00Z",
            "2026-08-05T00:00:00Z",
            "2026-08-05T00:00:00Z",
        )
        api.wait_ready(clock)

        [note] = credit_notes(api, customer_id=customer)
        assert (note["amount"], note["reason"], note["period_start"], note["period_end"]) == (
            16000,
            "pause_unused_period",
            "2026-06-15T00:00:00Z",
            "2026-07-01T00:00:00Z",
        )
        first, new_period = api.invoices(customer_id=customer)
        assert (new_period["period_start"], new_period["period_end"]) == ("2026-07-05T00:00:00Z", "2026-08-05T00:00:00Z")
        assert (new_period["total"], new_period["amount_due"], new_period["amount_paid"], new_period["status"]) == (
            30000,
            14000,
            14000,
            "paid",
        )
        assert new_period["credits_applied"] == [{"credit_note_id": note["id"], "amount": 16000}]
        assert (note["status"], note["remaining"]) == ("applied", 0)
        assert api.get("credit", f"/v1/customers/{customer}/credit-balance")["balances"] == [
            {"currency": "USD", "amount": 0, "credit_notes": 0}
        ]
        assert api.timeline_types(sub_id) == [
            "created",
            "activated",
            "paused",
            "resumed",
            "credit_note.issued",
            "credit_note.applied",
        ]

        api.advance(clock, "2026-08-05T00:00:00Z")
        renewal = api.invoices(customer_id=customer)[-1]
        assert (renewal["period_start"], renewal["total"], renewal["amount_due"]) == ("2026-08-05T00:00:00Z", 30000, 30000)
