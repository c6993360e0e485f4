"""Scenario 3 of lifecycle-examples.md: a pause within a yearly term, credited by the exact daily
value of a 365-day year, rounded once (575.34, not the 575.40 a rounded daily rate would give).
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, subscribe


def test_sixty_paused_days_of_a_yearly_term(api: TenureClient):
    yearly = plan(api, "support-yearly", 350000, interval="year")
    clock = api.create_clock("2026-01-01T00:00:00Z")
    customer, subscription = subscribe(api, clock, yearly)
    sub_id = subscription["id"]
    assert subscription["current_period_end"] == "2027-01-01T00:00:00Z"

    api.advance(clock, "2026-06-01T00:00:00Z")
    paused = api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {})
    assert paused["status"] == "paused"
    preview = api.post("credit", "/v1/credit-previews", {"subscription_id": sub_id, "resume_at": "2026-07-31T00:00:00Z"})
    assert (preview["unused_days"], preview["period_days"], preview["amount"]) == (60, 365, 57534)

    api.advance(clock, "2026-07-31T00:00:00Z")
    resumed = api.post("subscription", f"/v1/subscriptions/{sub_id}/resume", {})
    assert resumed["credit_preview"] == {"unused_days": 60, "period_days": 365, "amount": 57534, "currency": "USD"}
    assert (resumed["status"], resumed["renews_at"]) == ("active", "2027-01-01T00:00:00Z")
    api.wait_ready(clock)
    [note] = credit_notes(api, customer_id=customer)
    assert (note["amount"], note["remaining"], note["status"], note["reason"]) == (57534, 57534, "open", "pause_unused_period")
    assert (note["period_start"], note["period_end"]) == ("2026-06-01T00:00:00Z", "2026-07-31T00:00:00Z")
    assert api.get("credit", f"/v1/customers/{customer}/credit-balance")["balances"] == [
        {"currency": "USD", "amount": 57534, "credit_notes": 1}
    ]
    assert len(api.invoices(customer_id=customer)) == 1
