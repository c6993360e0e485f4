"""Scenario 1 of lifecycle-examples.md: pause and resume within the term (monthly), with
`redeem_credits` on and off. Public API only, on a test clock, over the real broker.
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, redeem_credits, subscribe


@pytest.mark.parametrize("redeem", [True, False], ids=["redeem_credits_on", "redeem_credits_off"])
def test_pause_and_scheduled_resume_within_the_term(api: TenureClient, redeem: bool):
    with redeem_credits(api, redeem):
        support = plan(api, "support-monthly", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe(api, clock, support)
        sub_id = subscription["id"]
        assert (subscription["current_period_start"], subscription["current_period_end"]) == (
            "2026-06-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        )

        api.advance(clock, "2026-06-10T00:00:00Z")
        paused = api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {"resume_at": "2026-06-15T00:00:00Z"})
        assert paused["status"] == "paused"
        assert paused["access"] == "none"
        assert paused["pause"] == {"paused_at": "2026-06-10T00:00:00Z", "resume_at": "2026-06-15T00:00:00Z"}
        assert paused["credit_preview"] == {"unused_days": 5, "period_days": 30, "amount": 5000, "currency": "USD"}
        assert paused["renews_at"] is None
        api.wait_ready(clock)
        assert credit_notes(api, customer_id=customer) == []  # the credit note comes at resume, never at pause

        # The standalone preview gives the same figure for the same window.
        preview = api.post("credit", "/v1/credit-previews", {"subscription_id": sub_id, "resume_at": "2026-06-15T00:00:00Z"})
        assert (preview["unused_days"], preview["period_days"], preview["amount"]) == (5, 30, 5000)

        api.advance(clock, "2026-06-15T00:00:00Z")
        resumed = api.get("subscription", f"/v1/subscriptions/{sub_id}")
        assert (resumed["status"], resumed["access"], resumed["pause"]) == ("active", "full", None)
        assert resumed["renews_at"] == "2026-07-01T00:00:00Z"
        assert resumed["current_period_start"] == "2026-06-01T00:00:00Z"
        [note] = credit_notes(api, customer_id=customer)
        assert (note["amount"], note["remaining"], note["reason"], note["status"]) == (5000, 5000, "pause_unused_period", "open")
        assert (note["subscription_id"], note["currency"]) == (sub_id, "USD")
        assert (note["period_start"], note["period_end"], note["issued_at"]) == (
            "2026-06-10T00:00:00Z",
            "2026-06-15T00:00:00Z",
            "2026-06-15T00:00:00Z",
        )
        assert note["number"].startswith("CN-")
        assert len(api.invoices(customer_id=customer)) == 1  # nothing billed at pause or resume

        api.advance(clock, "2026-07-01T00:00:00Z")
        first, renewal = api.invoices(customer_id=customer)
        assert (first["total"], first["status"]) == (30000, "paid")
        assert (renewal["period_start"], renewal["period_end"]) == ("2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z")
        assert renewal["total"] == 30000
        assert renewal["status"] == "paid"
        note = api.get("credit", f"/v1/credit-notes/{note['id']}")
        if redeem:
            assert renewal["credits_applied"] == [{"credit_note_id": note["id"], "amount": 5000}]
            assert (renewal["amount_due"], renewal["amount_paid"]) == (25000, 25000)
            assert (note["status"], note["remaining"]) == ("applied", 0)
            assert [(a["invoice_id"], a["amount"], a["applied_at"]) for a in note["applications"]] == [
                (renewal["id"], 5000, "2026-07-01T00:00:00Z")
            ]
        else:
            assert renewal["credits_applied"] == []
            assert (renewal["amount_due"], renewal["amount_paid"]) == (30000, 30000)
            assert (note["status"], note["remaining"], note["applications"]) == ("open", 5000, [])
        assert api.timeline_types(sub_id) == [
            "created",
            "activated",
            "paused",
            "resumed",
            "credit_note.issued",
            "renewed",
            *(["credit_note.applied"] if redeem else []),
        ]
