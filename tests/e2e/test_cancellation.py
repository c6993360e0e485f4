"""Cancellation now (unused amount credited, refunded or kept) or at the end of the term (visible,
then expiry). Public API only, on test clocks, over the real broker.
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, problem
from tests.support.lifecycle import account_settings, customer, plan, subscription


def _paid(api: TenureClient, plan_code: str) -> tuple[str, dict]:
    clock = api.create_clock("2026-04-01T00:00:00Z")
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": plan_code})
    api.wait_ready(clock)
    return clock, sub


def test_cancel_at_end_of_term_is_visible_then_expires_without_renewing(api: TenureClient, catalog):
    clock, sub = _paid(api, catalog["pro"])
    api.advance(clock, "2026-04-10T00:00:00Z")
    pending = api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "end_of_term"})
    assert (pending["status"], pending["cancel_at_period_end"], pending["renews_at"], pending["current_period_end"]) == (
        "active",
        True,
        None,
        "2026-05-01T00:00:00Z",
    )
    api.advance(clock, "2026-05-02T00:00:00Z")
    after = subscription(api, sub["id"])
    assert (after["status"], after["renews_at"]) == ("expired", None)
    assert len(api.invoices(subscription_id=sub["id"])) == 1
    timeline = api.get("subscription", f"/v1/subscriptions/{sub['id']}/timeline")["data"]
    assert [(e["type"], e["occurred_at"]) for e in timeline][-2:] == [
        ("cancellation_scheduled", "2026-04-10T00:00:00Z"),
        ("expired", "2026-05-01T00:00:00Z"),
    ]


@pytest.mark.parametrize(("unused_amount", "status"), [("credit", "open"), ("refund", "refunded")], ids=["credit", "refund"])
def test_cancel_now_gives_back_the_unused_days(api: TenureClient, unused_amount: str, status: str):
    pro = plan(api, "Pro", 4900)
    with account_settings(api, redeem_credits=False):
        clock, sub = _paid(api, pro)
        api.advance(clock, "2026-04-10T00:00:00Z")
        cancelled = api.post(
            "subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now", "unused_amount": unused_amount}
        )
        assert (cancelled["status"], cancelled["cancelled_at"], cancelled["renews_at"]) == (
            "cancelled",
            "2026-04-10T00:00:00Z",
            None,
        )
        api.wait_ready(clock)
        [note] = credit_notes(api, subscription_id=sub["id"])
        # 21 of April's 30 days are unused: 4900 × 21 / 30 = 3430.
        assert (note["reason"], note["amount"], note["status"]) == ("cancellation_unused_period", 3430, status)
        api.advance(clock, "2026-05-02T00:00:00Z")
        assert len(api.invoices(subscription_id=sub["id"])) == 1


def test_cancel_now_without_unused_amount_and_refusals(api: TenureClient, catalog):
    clock, sub = _paid(api, catalog["pro"])
    api.advance(clock, "2026-04-10T00:00:00Z")
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now", "unused_amount": "none"})
    api.wait_ready(clock)
    assert credit_notes(api, subscription_id=sub["id"]) == []
    path = f"/v1/subscriptions/{sub['id']}/cancel"
    assert problem(api, "subscription", path, {"when": "now"}, 409)["code"] == "subscription_already_cancelled"
    assert problem(api, "subscription", path, {"when": "later"}, 422)["code"] == "validation_error"
    assert api.timeline_types(sub["id"]) == ["created", "activated", "cancelled"]
