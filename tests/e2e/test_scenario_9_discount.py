"""Scenario 9 of retention-examples.md: a 20% discount for ever, then a pause. The pause credit is
5/30 of what the period cost after the discount. Public API only, on a test clock, over the real broker.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, redeem_credits
from tests.support.discounts import coupon, discount_lines, subscribe_with


def test_twenty_percent_forever_then_a_pause(api: TenureClient):
    with redeem_credits(api, True):
        loyal20 = coupon(api, "LOYAL20", percent_off=20, duration="forever")
        support = plan(api, "support-monthly", 30000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe_with(api, clock, support, coupon_code=loyal20)
        sub_id = subscription["id"]
        [discount] = subscription["discounts"]
        assert (discount["coupon_code"], discount["percent_off"], discount["amount_off"]) == (loyal20, 20, None)
        assert (discount["starts_at"], discount["ends_at"], discount["periods_remaining"]) == ("2026-06-01T00:00:00Z", None, None)

        [first] = api.invoices(customer_id=customer)
        assert [(line["kind"], line["amount"]) for line in first["lines"]] == [("subscription", 30000), ("discount", -6000)]
        assert (first["subtotal"], first["total"], first["amount_paid"], first["status"]) == (30000, 24000, 24000, "paid")

        api.advance(clock, "2026-06-10T00:00:00Z")
        paused = api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {"resume_at": "2026-06-15T00:00:00Z"})
        assert paused["credit_preview"] == {"unused_days": 5, "period_days": 30, "amount": 4000, "currency": "USD"}
        preview = api.post("credit", "/v1/credit-previews", {"subscription_id": sub_id, "resume_at": "2026-06-15T00:00:00Z"})
        assert (preview["unused_days"], preview["period_days"], preview["amount"]) == (5, 30, 4000)

        api.advance(clock, "2026-06-15T00:00:00Z")
        [note] = credit_notes(api, customer_id=customer)
        assert (note["amount"], note["reason"]) == (4000, "pause_unused_period")

        api.advance(clock, "2026-07-01T00:00:00Z")
        _, renewal = api.invoices(customer_id=customer)
        assert discount_lines(renewal) == [-6000]
        assert (renewal["total"], renewal["amount_due"], renewal["status"]) == (24000, 20000, "paid")
        assert [c["amount"] for c in renewal["credits_applied"]] == [4000]
        assert api.timeline_types(sub_id)[:3] == ["created", "discount_applied", "activated"]
