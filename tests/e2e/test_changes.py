"""Plan, quantity and billing-frequency changes now and at end of term, per proration setting, and the
refusals that change nothing. Public API only, on test clocks, over the real broker.
"""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.credits import credit_notes, problem
from tests.support.lifecycle import account_settings, customer, lines, plan, subscription


@pytest.fixture
def plans(api: TenureClient) -> dict[str, str]:
    return {
        "basic": plan(api, "Basic", 10000),
        "pro": plan(api, "Pro", 30000),
        "basic_yearly": plan(api, "Basic yearly", 100000, interval="year"),
        "seat": plan(api, "Seat", 1000),
    }


def _start(api: TenureClient, plan_code: str, *, quantity: int = 1, at: str = "2026-06-01T00:00:00Z") -> tuple[str, dict]:
    clock = api.create_clock(at)
    sub = api.post(
        "subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": plan_code, "quantity": quantity}
    )
    api.wait_ready(clock)
    return clock, sub


def _change(api: TenureClient, sub: dict, **body) -> dict:
    return api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes", body)


def test_downgrade_invoices_only_the_charge_and_credits_the_unused_old_plan(api: TenureClient, plans):
    with account_settings(api, proration="immediate"):
        clock, sub = _start(api, plans["pro"])
        api.advance(clock, "2026-06-16T00:00:00Z")
        preview = api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes/preview", {"plan_code": plans["basic"]})
        assert preview["proration"] == {"credit": 15000, "charge": 5000, "net": -10000, "currency": "USD"}
        assert [line["amount"] for line in preview["invoice_now"]] == [5000]
        assert preview["credit_note_amount"] == 15000
        change = _change(api, sub, plan_code=plans["basic"], when="now")
        assert (change["credit_note_amount"], change["subscription"]["plan_code"]) == (15000, plans["basic"])
        api.wait_ready(clock)
        downgrade = api.invoices(subscription_id=sub["id"])[-1]
        assert lines(downgrade) == [("proration", 5000, "Basic (15/30 days)")]
        assert downgrade["total"] == 5000  # the negative net never reaches an invoice
        [note] = credit_notes(api, subscription_id=sub["id"])
        assert (note["reason"], note["amount"]) == ("downgrade_proration", 15000)
        # The note pays the charge of the same change; the rest stays for later invoices.
        assert (downgrade["amount_due"], note["remaining"]) == (0, 10000)


def test_quantity_up_then_down(api: TenureClient, plans):
    with account_settings(api, proration="immediate"):
        clock, sub = _start(api, plans["seat"], quantity=3)
        api.advance(clock, "2026-06-21T00:00:00Z")
        up = _change(api, sub, quantity=5)
        assert [(line["amount"], line["description"]) for line in up["lines"]] == [
            (-1000, "Unused Seat × 3 (10/30 days)"),
            (1667, "Seat × 5 (10/30 days)"),
        ]
        assert (up["proration"]["net"], up["subscription"]["quantity"]) == (667, 5)
        down = _change(api, sub, quantity=2)
        assert down["proration"] == {"credit": 1667, "charge": 667, "net": -1000, "currency": "USD"}
        assert (down["credit_note_amount"], down["subscription"]["quantity"]) == (1667, 2)
        api.advance(clock, "2026-07-01T00:00:00Z")
        invoices = api.invoices(subscription_id=sub["id"])
        assert [i["total"] for i in invoices] == [3000, 667, 667, 2000]
        assert lines(invoices[-1]) == [("subscription", 2000, "Seat × 2")]


def test_next_invoice_proration_is_added_to_the_renewal(api: TenureClient, plans):
    with account_settings(api, proration="next_invoice"):
        clock, sub = _start(api, plans["basic"])
        api.advance(clock, "2026-06-16T00:00:00Z")
        change = _change(api, sub, plan_code=plans["pro"])
        assert (change["invoice_now"], [line["amount"] for line in change["next_invoice"]]) == ([], [-5000, 15000])
        assert [line["amount"] for line in change["renewal_lines"]] == [30000, -5000, 15000]
        api.wait_ready(clock)
        assert len(api.invoices(subscription_id=sub["id"])) == 1  # nothing billed now
        api.advance(clock, "2026-07-01T00:00:00Z")
        renewal = api.invoices(subscription_id=sub["id"])[-1]
        assert lines(renewal) == [
            ("subscription", 30000, "Pro"),
            ("proration", -5000, "Unused Basic (15/30 days)"),
            ("proration", 15000, "Pro (15/30 days)"),
        ]
        assert (renewal["total"], renewal["status"]) == (40000, "paid")


def test_no_proration_changes_the_plan_and_bills_the_new_price_at_renewal(api: TenureClient, plans):
    with account_settings(api, proration="none"):
        clock, sub = _start(api, plans["basic"])
        api.advance(clock, "2026-06-16T00:00:00Z")
        change = _change(api, sub, plan_code=plans["pro"])
        assert change["proration"] == {"credit": 0, "charge": 0, "net": 0, "currency": "USD"}
        api.advance(clock, "2026-07-01T00:00:00Z")
        assert [i["total"] for i in api.invoices(subscription_id=sub["id"])] == [10000, 30000]


def test_billing_frequency_change_starts_a_new_period_and_credits_the_unused_old_one(api: TenureClient, plans):
    with account_settings(api, proration="immediate"):
        clock, sub = _start(api, plans["basic"])
        api.advance(clock, "2026-06-16T00:00:00Z")
        change = _change(api, sub, plan_code=plans["basic_yearly"])
        assert change["new_period"] is True
        assert (change["subscription"]["current_period_start"], change["subscription"]["current_period_end"]) == (
            "2026-06-16T00:00:00Z",
            "2027-06-16T00:00:00Z",
        )
        api.wait_ready(clock)
        yearly = api.invoices(subscription_id=sub["id"])[-1]
        assert lines(yearly) == [("proration", -5000, "Unused Basic (15/30 days)"), ("subscription", 100000, "Basic yearly")]
        assert (yearly["total"], yearly["status"], yearly["period_start"], yearly["period_end"]) == (
            95000,
            "paid",
            "2026-06-16T00:00:00Z",
            "2027-06-16T00:00:00Z",
        )
        api.advance(clock, "2026-07-01T00:00:00Z")
        assert len(api.invoices(subscription_id=sub["id"])) == 2  # the old monthly renewal is gone


def test_upgrade_from_the_free_plan_starts_a_paid_period_at_once(api: TenureClient, catalog):
    clock, sub = _start(api, catalog["free"])
    api.advance(clock, "2026-06-10T00:00:00Z")
    change = _change(api, sub, plan_code=catalog["pro"])
    assert (change["new_period"], change["subscription"]["on_free_plan"], change["subscription"]["current_period_end"]) == (
        True,
        False,
        "2026-07-10T00:00:00Z",
    )
    api.wait_ready(clock)
    [paid] = [i for i in api.invoices(subscription_id=sub["id"]) if i["total"]]
    assert (paid["total"], paid["status"], paid["period_start"]) == (4900, "paid", "2026-06-10T00:00:00Z")


def test_end_of_term_change_is_applied_before_the_renewal_bills(api: TenureClient, plans):
    clock, sub = _start(api, plans["pro"])
    api.advance(clock, "2026-06-16T00:00:00Z")
    change = _change(api, sub, plan_code=plans["basic"], when="end_of_term")
    scheduled = change["scheduled_change"]
    assert (scheduled["plan_code"], scheduled["effective_at"], change["effective_at"]) == (
        plans["basic"],
        "2026-07-01T00:00:00Z",
        "2026-07-01T00:00:00Z",
    )
    assert [(line["amount"], line["period_start"], line["period_end"]) for line in change["renewal_lines"]] == [
        (10000, "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z"),
    ]
    assert (change["invoice_now"], change["subscription"]["plan_code"]) == ([], plans["pro"])
    assert subscription(api, sub["id"])["scheduled_changes"] == [scheduled]

    api.advance(clock, "2026-07-01T00:00:00Z")
    after = subscription(api, sub["id"])
    assert (after["plan_code"], after["scheduled_changes"], after["current_period_end"]) == (
        plans["basic"],
        [],
        "2026-08-01T00:00:00Z",
    )
    renewal = api.invoices(subscription_id=sub["id"])[-1]
    assert lines(renewal) == [("subscription", 10000, "Basic")]
    assert renewal["period_start"] == "2026-07-01T00:00:00Z"
    timeline = api.get("subscription", f"/v1/subscriptions/{sub['id']}/timeline")["data"]
    assert [(e["type"], e["occurred_at"]) for e in timeline][-3:] == [
        ("change_scheduled", "2026-06-16T00:00:00Z"),
        ("changed", "2026-07-01T00:00:00Z"),
        ("renewed", "2026-07-01T00:00:00Z"),
    ]


def test_end_of_term_frequency_change_anchors_the_new_interval_at_the_term_end(api: TenureClient, plans):
    clock, sub = _start(api, plans["basic"])
    api.advance(clock, "2026-06-20T00:00:00Z")
    _change(api, sub, plan_code=plans["basic_yearly"], when="end_of_term")
    api.advance(clock, "2026-07-01T00:00:00Z")
    after = subscription(api, sub["id"])
    assert (after["current_period_start"], after["current_period_end"]) == ("2026-07-01T00:00:00Z", "2027-07-01T00:00:00Z")
    assert [i["total"] for i in api.invoices(subscription_id=sub["id"])] == [10000, 100000]


def test_conflicting_scheduled_changes_are_refused(api: TenureClient, plans):
    clock, sub = _start(api, plans["pro"])
    first = _change(api, sub, plan_code=plans["basic"], when="end_of_term")["scheduled_change"]
    refused = problem(
        api, "subscription", f"/v1/subscriptions/{sub['id']}/changes", {"plan_code": plans["seat"], "when": "end_of_term"}, 409
    )
    assert (refused["code"], refused["scheduled_change_id"]) == ("scheduled_change_conflict", first["id"])
    assert subscription(api, sub["id"])["scheduled_changes"] == [first]
    # A change of another field does not conflict; a cancelled one makes room for a new one.
    _change(api, sub, quantity=2, when="end_of_term")
    api.post("subscription", f"/v1/subscriptions/{sub['id']}/scheduled-changes/{first['id']}/cancel")
    _change(api, sub, plan_code=plans["seat"], when="end_of_term")
    api.advance(clock, "2026-07-01T00:00:00Z")
    after = subscription(api, sub["id"])
    assert (after["plan_code"], after["quantity"]) == (plans["seat"], 2)
    assert api.invoices(subscription_id=sub["id"])[-1]["total"] == 2000


def test_refusals_change_nothing(api: TenureClient, plans):
    euro = api.unique("euro")
    api.post("subscription", "/v1/plans", {"code": euro, "name": "Euro", "currency": "EUR", "amount": 9000})
    archived = plan(api, "Old", 5000)
    api.post("subscription", f"/v1/plans/{archived}/archive")
    clock, sub = _start(api, plans["basic"])
    before = subscription(api, sub["id"])
    path = f"/v1/subscriptions/{sub['id']}/changes"
    for body, status, code in [
        ({"plan_code": euro}, 422, "currency_mismatch"),
        ({"quantity": 0}, 422, "invalid_quantity"),
        ({"plan_code": archived}, 422, "plan_archived"),
        ({}, 422, "empty_change"),
        ({"plan_code": api.unique("nope")}, 404, "plan_not_found"),
    ]:
        for endpoint in (path, path + "/preview"):
            assert problem(api, "subscription", endpoint, body, status)["code"] == code
    zero = {"customer_id": sub["customer_id"], "plan_code": plans["basic"], "quantity": 0}
    assert problem(api, "subscription", "/v1/subscriptions", zero, 422)["code"] == "invalid_quantity"

    api.post("subscription", f"/v1/subscriptions/{sub['id']}/cancel", {"when": "now"})
    cancelled = subscription(api, sub["id"])
    assert problem(api, "subscription", path, {"plan_code": plans["pro"]}, 409)["code"] == "subscription_not_changeable"
    assert subscription(api, sub["id"]) == cancelled
    cancellation_fields = ("status", "cancelled_at", "renews_at", "access")
    assert {k: v for k, v in cancelled.items() if k not in cancellation_fields} == {
        k: v for k, v in before.items() if k not in cancellation_fields
    }
    api.wait_ready(clock)
    assert len(api.invoices(subscription_id=sub["id"])) == 1
    assert api.timeline_types(sub["id"]) == ["created", "activated", "cancelled"]
