"""Scenario 4 of lifecycle-examples.md: a trial ends with or without a payment method, and the
other trial rules (the `cancel` action, a trial cancelled at its end). Public API, test clocks.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.lifecycle import account_settings, customer, lines, plan, subscription


def _trial_subscription(api: TenureClient, *, payment_method: str | None) -> tuple[str, str, dict]:
    pro = plan(api, "Pro", 4900, trial_days=14)
    clock = api.create_clock("2026-03-01T00:00:00Z")
    cus = customer(api, clock, payment_method=payment_method)
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": pro})
    assert (sub["status"], sub["trial_end"], sub["current_period_end"]) == (
        "trialing",
        "2026-03-15T00:00:00Z",
        "2026-03-15T00:00:00Z",
    )
    api.wait_ready(clock)
    assert api.invoices(customer_id=cus) == []  # a trial charges nothing
    return pro, clock, sub


def test_trial_without_payment_method_moves_to_the_free_plan(api: TenureClient, catalog):
    with account_settings(api, trial_end_action="move_to_free_plan"):
        pro, clock, sub = _trial_subscription(api, payment_method=None)
        api.advance(clock, "2026-03-15T00:00:00Z")
        after = subscription(api, sub["id"])
        assert (after["id"], after["status"], after["plan_code"], after["on_free_plan"], after["last_paid_plan_code"]) == (
            sub["id"],
            "active",
            catalog["free"],
            True,
            pro,
        )
        assert (after["customer_id"], after["trial_end"]) == (sub["customer_id"], "2026-03-15T00:00:00Z")
        assert all(i["amount_due"] == 0 for i in api.invoices(customer_id=sub["customer_id"]))
        timeline = api.get("subscription", f"/v1/subscriptions/{sub['id']}/timeline")["data"]
        assert [(e["type"], e["occurred_at"]) for e in timeline] == [
            ("created", "2026-03-01T00:00:00Z"),
            ("trial_will_end", "2026-03-12T00:00:00Z"),  # the reminder, 3 days before (issue 12)
            ("trial_ended", "2026-03-15T00:00:00Z"),
            ("moved_to_free_plan", "2026-03-15T00:00:00Z"),
        ]
        # The free plan renews without ever asking money.
        api.advance(clock, "2026-04-16T00:00:00Z")
        assert all(i["amount_due"] == 0 for i in api.invoices(customer_id=sub["customer_id"]))


def test_trial_with_payment_method_converts_and_pays_the_first_invoice(api: TenureClient, catalog):
    pro, clock, sub = _trial_subscription(api, payment_method="pm_test_ok")
    api.advance(clock, "2026-03-15T00:00:00Z")
    after = subscription(api, sub["id"])
    assert (after["status"], after["plan_code"], after["on_free_plan"]) == ("active", pro, False)
    assert (after["current_period_start"], after["current_period_end"], after["renews_at"]) == (
        "2026-03-15T00:00:00Z",
        "2026-04-15T00:00:00Z",
        "2026-04-15T00:00:00Z",
    )
    [invoice] = api.invoices(customer_id=sub["customer_id"])
    assert lines(invoice) == [("subscription", 4900, "Pro")]
    assert (invoice["total"], invoice["amount_paid"], invoice["status"], invoice["billing_reason"]) == (
        4900,
        4900,
        "paid",
        "trial_converted",
    )
    assert api.timeline_types(sub["id"]) == ["created", "trial_will_end", "trial_ended", "activated"]


def test_trial_without_payment_method_is_cancelled_when_the_action_is_cancel(api: TenureClient, catalog):
    with account_settings(api, trial_end_action="cancel"):
        pro, clock, sub = _trial_subscription(api, payment_method=None)
        api.advance(clock, "2026-03-15T00:00:00Z")
        after = subscription(api, sub["id"])
        assert (after["status"], after["plan_code"], after["cancelled_at"], after["renews_at"]) == (
            "cancelled",
            pro,
            "2026-03-15T00:00:00Z",
            None,
        )
        assert api.invoices(customer_id=sub["customer_id"]) == []
        assert api.timeline_types(sub["id"]) == ["created", "trial_will_end", "trial_ended", "cancelled"]


def test_trial_cancelled_at_its_end_expires_without_an_invoice(api: TenureClient, catalog):
    pro, clock, sub = _trial_subscription(api, payment_method="pm_test_ok")
    api.advance(clock, "2026-03-05T00:00:00Z")
    cancelled = api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "end_of_term"})
    assert (cancelled["status"], cancelled["cancel_at_period_end"], cancelled["renews_at"]) == ("trialing", True, None)
    api.advance(clock, "2026-03-16T00:00:00Z")
    assert subscription(api, sub["id"])["status"] == "expired"
    assert api.invoices(customer_id=sub["customer_id"]) == []
    assert api.timeline_types(sub["id"]) == ["created", "cancellation_scheduled", "trial_ended", "expired"]


def test_trial_days_of_the_subscription_override_the_plan(api: TenureClient, catalog):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    cus = customer(api, clock)
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": catalog["pro"], "trial_days": 7})
    assert (sub["status"], sub["trial_end"]) == ("trialing", "2026-03-08T00:00:00Z")
