"""GET /v1/invoices/upcoming: exactly the invoice the next renewal issues (scheduled change in force,
coupon, the pause credit it will spend), read before the renewal and compared with the real one.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, plan, redeem_credits, subscribe
from tests.support.discounts import coupon, subscribe_with

COMPARED = ("billing_reason", "period_start", "period_end", "subtotal", "total", "amount_due", "currency", "customer_id")


def _upcoming(api: TenureClient, subscription_id: str) -> dict:
    return api.get("invoicing", "/v1/invoices/upcoming", params={"subscription_id": subscription_id})


def _lines(invoice: dict) -> list[tuple]:
    return [(line["kind"], line["description"], line["quantity"], line["amount"]) for line in invoice["lines"]]


def test_upcoming_invoice_is_the_renewal_invoice_across_pause_credit_downgrade_and_coupon(api: TenureClient):
    with redeem_credits(api, True):
        save10 = coupon(api, "SAVE10", percent_off=10, duration="forever")
        big = plan(api, "upcoming-big", 30000)
        small = plan(api, "upcoming-small", 12000)
        clock = api.create_clock("2026-06-01T00:00:00Z")
        customer, subscription = subscribe_with(api, clock, big, coupon_code=save10)
        sub_id = subscription["id"]

        api.advance(clock, "2026-06-10T00:00:00Z")
        api.post("subscription", f"/v1/subscriptions/{sub_id}/pause", {"resume_at": "2026-06-15T00:00:00Z"})
        api.advance(clock, "2026-06-15T00:00:00Z")
        [note] = credit_notes(api, customer_id=customer)
        api.post("subscription", f"/v1/subscriptions/{sub_id}/changes", {"plan_code": small, "when": "end_of_term"})

        api.advance(clock, "2026-06-20T00:00:00Z")
        upcoming = _upcoming(api, sub_id)
        assert [(c["credit_note_id"], c["amount"]) for c in upcoming["credits_applied"]] == [(note["id"], note["amount"])]
        assert [(kind, amount) for kind, _, _, amount in _lines(upcoming)] == [("subscription", 12000), ("discount", -1200)]
        assert (upcoming["total"], upcoming["amount_due"]) == (10800, 10800 - note["amount"])
        # Reading it changed nothing: the same answer again, the credit still open, nothing scheduled moved.
        assert _upcoming(api, sub_id) == upcoming
        assert [n["remaining"] for n in credit_notes(api, customer_id=customer)] == [note["amount"]]
        assert api.get("subscription", f"/v1/subscriptions/{sub_id}")["plan_code"] == big

        api.advance(clock, "2026-07-01T00:00:00Z")
        renewal = next(i for i in api.invoices(customer_id=customer) if i["billing_reason"] == "subscription_cycle")
        assert {k: renewal[k] for k in COMPARED} == {k: upcoming[k] for k in COMPARED}
        assert _lines(renewal) == _lines(upcoming)
        assert renewal["credits_applied"] == upcoming["credits_applied"]
        assert renewal["issued_at"] == upcoming["issued_at"]


def test_upcoming_invoice_refusals(api: TenureClient):
    basic = plan(api, "upcoming-refusals", 5000)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    _, subscription = subscribe(api, clock, basic)
    unknown = api.request("invoicing", "GET", "/v1/invoices/upcoming", params={"subscription_id": "sub_nope"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "subscription_not_found")
    for when in ("end_of_term", "now"):  # cancelling at the term end, then cancelled: no renewal either way
        api.post("subscription", f"/v1/subscriptions/{subscription['id']}/cancel", {"when": when})
        refused = api.request("invoicing", "GET", "/v1/invoices/upcoming", params={"subscription_id": subscription["id"]})
        assert (refused.status_code, refused.json()["code"]) == (409, "subscription_not_renewing")
