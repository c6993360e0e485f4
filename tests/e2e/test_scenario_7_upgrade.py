"""Scenario 7 of lifecycle-examples.md: mid-period upgrade with immediate proration, previewed first.

Public API only, on a test clock, over the real broker.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.lifecycle import account_settings, customer, lines, plan, subscription


def test_mid_period_upgrade_with_immediate_proration(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000), plan(api, "Pro", 30000)
    with account_settings(api, proration="immediate"):
        clock = api.create_clock("2026-06-01T00:00:00Z")
        cus = customer(api, clock)
        sub = api.post("subscription", "/v1/subscriptions", {"customer_id": cus, "plan_code": basic})
        api.advance(clock, "2026-06-16T00:00:00Z")

        preview = api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes/preview", {"plan_code": pro, "when": "now"})
        assert preview["proration"] == {"credit": 5000, "charge": 15000, "net": 10000, "currency": "USD"}
        assert [(line["amount"], line["description"], line["period_start"], line["period_end"]) for line in preview["lines"]] == [
            (-5000, "Unused Basic (15/30 days)", "2026-06-16T00:00:00Z", "2026-07-01T00:00:00Z"),
            (15000, "Pro (15/30 days)", "2026-06-16T00:00:00Z", "2026-07-01T00:00:00Z"),
        ]
        assert preview["invoice_now"] == preview["lines"]
        assert (preview["next_invoice"], preview["credit_note_amount"]) == ([], 0)
        assert [(line["amount"], line["period_start"]) for line in preview["renewal_lines"]] == [(30000, "2026-07-01T00:00:00Z")]
        assert subscription(api, sub["id"])["plan_code"] == basic  # a preview changes nothing
        api.wait_ready(clock)
        assert len(api.invoices(subscription_id=sub["id"])) == 1

        change = api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes", {"plan_code": pro, "when": "now"})
        assert change["proration"] == preview["proration"]
        assert change["subscription"]["plan_code"] == pro
        assert (change["subscription"]["current_period_start"], change["subscription"]["current_period_end"]) == (
            "2026-06-01T00:00:00Z",
            "2026-07-01T00:00:00Z",
        )
        api.wait_ready(clock)
        first, upgrade = api.invoices(subscription_id=sub["id"])
        assert (first["total"], first["status"]) == (10000, "paid")
        assert lines(upgrade) == [("proration", -5000, "Unused Basic (15/30 days)"), ("proration", 15000, "Pro (15/30 days)")]
        assert (upgrade["total"], upgrade["amount_paid"], upgrade["status"], upgrade["issued_at"]) == (
            10000,
            10000,
            "paid",
            "2026-06-16T00:00:00Z",
        )

        api.advance(clock, "2026-07-01T00:00:00Z")
        renewal = api.invoices(subscription_id=sub["id"])[-1]
        assert lines(renewal) == [("subscription", 30000, "Pro")]
        assert (renewal["total"], renewal["status"], renewal["period_start"], renewal["period_end"]) == (
            30000,
            "paid",
            "2026-07-01T00:00:00Z",
            "2026-08-01T00:00:00Z",
        )
        assert api.timeline_types(sub["id"]) == ["created", "activated", "changed", "renewed"]
