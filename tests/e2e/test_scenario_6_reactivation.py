"""Scenario 6 of lifecycle-examples.md (reactivation within the term) and the other reactivation
rules: after the term, withdrawing a scheduled cancellation, and collecting unpaid amounts first.
Public API only, on test clocks, over the real broker.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import problem
from tests.support.lifecycle import account_settings, customer, lines, subscription


def _paid_subscription(api: TenureClient, plan_code: str, *, payment_method: str = "pm_test_ok") -> tuple[str, dict]:
    clock = api.create_clock("2026-04-01T00:00:00Z")
    cus = customer(api, clock, payment_method=payment_method)
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": plan_code})
    api.wait_ready(clock)
    return clock, sub


def test_reactivation_within_the_term_keeps_the_period_and_bills_nothing(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    [first] = api.invoices(subscription_id=sub["id"])
    assert (first["total"], first["status"]) == (4900, "paid")

    api.advance(clock, "2026-04-10T00:00:00Z")
    cancelled = api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now", "unused_amount": "none"})
    assert (cancelled["status"], cancelled["cancelled_at"], cancelled["renews_at"]) == ("cancelled", "2026-04-10T00:00:00Z", None)

    api.advance(clock, "2026-04-20T00:00:00Z")
    back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    assert (back["id"], back["status"], back["cancelled_at"], back["cancel_at_period_end"]) == (sub["id"], "active", None, False)
    assert (back["current_period_start"], back["current_period_end"], back["renews_at"]) == (
        "2026-04-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
    )
    api.wait_ready(clock)
    assert [i["id"] for i in api.invoices(subscription_id=sub["id"])] == [first["id"]]  # no new invoice

    api.advance(clock, "2026-05-01T00:00:00Z")
    renewal = api.invoices(subscription_id=sub["id"])[-1]
    assert lines(renewal) == [("subscription", 4900, "Pro")]
    assert (renewal["total"], renewal["status"], renewal["period_start"], renewal["period_end"]) == (
        4900,
        "paid",
        "2026-05-01T00:00:00Z",
        "2026-06-01T00:00:00Z",
    )
    timeline = api.get("subscription", f"/v1/subscriptions/{sub['id']}/timeline")["data"]
    assert [(e["type"], e["occurred_at"]) for e in timeline] == [
        ("created", "2026-04-01T00:00:00Z"),
        ("activated", "2026-04-01T00:00:00Z"),
        ("cancelled", "2026-04-10T00:00:00Z"),
        ("reactivated", "2026-04-20T00:00:00Z"),
        ("renewed", "2026-05-01T00:00:00Z"),
    ]


def test_reactivation_after_the_term_starts_a_new_period_with_an_invoice(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    api.advance(clock, "2026-04-10T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now"})
    api.advance(clock, "2026-05-05T00:00:00Z")
    assert len(api.invoices(subscription_id=sub["id"])) == 1  # a cancelled subscription does not renew
    back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    assert (back["status"], back["current_period_start"], back["current_period_end"]) == (
        "active",
        "2026-05-05T00:00:00Z",
        "2026-06-05T00:00:00Z",
    )
    api.wait_ready(clock)
    new = api.invoices(subscription_id=sub["id"])[-1]
    assert (new["total"], new["status"], new["period_start"], new["billing_reason"]) == (
        4900,
        "paid",
        "2026-05-05T00:00:00Z",
        "subscription_reactivation",
    )


def test_an_expired_subscription_is_reactivated_with_a_new_period(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "end_of_term"})
    api.advance(clock, "2026-05-03T00:00:00Z")
    assert subscription(api, sub["id"])["status"] == "expired"
    back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    assert (back["status"], back["current_period_start"], back["renews_at"]) == (
        "active",
        "2026-05-03T00:00:00Z",
        "2026-06-03T00:00:00Z",
    )
    api.wait_ready(clock)
    assert [i["total"] for i in api.invoices(subscription_id=sub["id"])] == [4900, 4900]


def test_reactivating_a_scheduled_cancellation_withdraws_it(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    api.advance(clock, "2026-04-10T00:00:00Z")
    pending = api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "end_of_term"})
    assert (pending["status"], pending["cancel_at_period_end"], pending["renews_at"]) == ("active", True, None)
    back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    assert (back["status"], back["cancel_at_period_end"], back["renews_at"]) == ("active", False, "2026-05-01T00:00:00Z")
    api.advance(clock, "2026-05-01T00:00:00Z")
    assert [i["total"] for i in api.invoices(subscription_id=sub["id"])] == [4900, 4900]
    assert api.timeline_types(sub["id"]) == ["created", "activated", "cancellation_scheduled", "reactivated", "renewed"]


def test_reactivation_within_the_term_after_an_unused_credit_bills_the_days_back(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    api.advance(clock, "2026-04-10T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now", "unused_amount": "credit"})
    api.advance(clock, "2026-04-20T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
    api.wait_ready(clock)
    back = api.invoices(subscription_id=sub["id"])[-1]
    # 21 of 30 days were credited at cancellation; the 11 days from the reactivation are billed again.
    assert lines(back) == [("proration", 1797, "Pro (11/30 days)")]
    assert (back["total"], back["status"], back["billing_reason"]) == (1797, "paid", "subscription_reactivation")


def test_reactivation_requiring_payment_collects_first_and_refuses_with_402(api: TenureClient, catalog):
    with account_settings(api, reactivation_requires_payment=True):
        clock, sub = _paid_subscription(api, catalog["pro"], payment_method="pm_test_declined")
        [unpaid] = api.invoices(subscription_id=sub["id"])
        assert unpaid["status"] == "open"
        api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now"})
        api.wait_ready(clock)
        before = subscription(api, sub["id"])

        refused = problem(api, "subscription", f"/v1/subscriptions/{sub['id']}/reactivate", None, 402)
        assert (refused["code"], refused["invoice_ids"]) == ("payment_failed", [unpaid["id"]])
        assert subscription(api, sub["id"]) == before  # nothing changed
        assert api.timeline_types(sub["id"]) == ["created", "activated", "cancelled"]

        api.patch("subscription", f"/v1/customers/{sub['customer_id']}", {"payment_method": "pm_test_ok"})
        back = api.post("subscription", f"/v1/subscriptions/{sub['id']}/reactivate")
        assert (back["status"], back["current_period_end"]) == ("active", "2026-05-01T00:00:00Z")
        api.wait_ready(clock)
        paid = api.get("invoicing", f"/v1/invoices/{unpaid['id']}")
        assert (paid["status"], paid["amount_paid"]) == ("paid", 4900)
        assert len(api.invoices(subscription_id=sub["id"])) == 1


def test_an_active_subscription_cannot_be_reactivated(api: TenureClient, catalog):
    clock, sub = _paid_subscription(api, catalog["pro"])
    refused = problem(api, "subscription", f"/v1/subscriptions/{sub['id']}/reactivate", None, 409)
    assert refused["code"] == "subscription_not_reactivatable"
