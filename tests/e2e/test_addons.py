"""Add-ons: the catalog, subscriptions with recurring and one-time add-ons, add-ons added and removed
in changes (prorated), and the refusals. Public API only, on test clocks, over the real broker.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.credits import problem
from tests.support.lifecycle import account_settings, addon, customer, lines, plan, subscription


def test_addon_catalog(api: TenureClient):
    seats = addon(api, "Seats", 500, interval="month")
    setup = addon(api, "Setup", 2000, one_time=True)
    assert api.get("subscription", f"/v1/addons/{seats}") == {
        "code": seats,
        "name": "Seats",
        "currency": "USD",
        "amount": 500,
        "interval": "month",
        "interval_count": 1,
        "one_time": False,
        "archived": False,
    }
    assert api.get("subscription", f"/v1/addons/{setup}")["one_time"] is True
    listed = [a["code"] for a in api.list_all("subscription", "/v1/addons")]
    assert seats in listed
    assert api.post("subscription", f"/v1/addons/{seats}/archive")["archived"] is True
    assert seats not in [a["code"] for a in api.list_all("subscription", "/v1/addons")]
    body = {"code": api.unique("x"), "name": "X", "currency": "USD", "amount": 1}
    assert problem(api, "subscription", "/v1/addons", body, 422)["code"] == "addon_interval_required"
    assert problem(api, "subscription", "/v1/addons", {**body, "interval": "month", "one_time": True}, 422)["code"] == (
        "addon_interval_required"
    )
    taken = {**body, "code": setup, "one_time": True}
    assert problem(api, "subscription", "/v1/addons", taken, 409)["code"] == "addon_already_exists"
    assert api.request("subscription", "GET", f"/v1/addons/{api.unique('none')}", expect=404).json()["code"] == "addon_not_found"


def test_subscription_with_addons_bills_them_as_addon_lines(api: TenureClient):
    pro = plan(api, "Pro", 4900)
    seats, setup = addon(api, "Seats", 500, interval="month"), addon(api, "Setup", 2000, one_time=True)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    sub = api.post(
        "subscription",
        "/v1/subscriptions",
        {"customer_id": customer(api, clock), "plan_code": pro, "addons": [{"code": seats, "quantity": 3}, {"code": setup}]},
    )
    assert sub["addons"] == [{"code": seats, "quantity": 3}]  # a one-time add-on is bought, not kept
    api.wait_ready(clock)
    [first] = api.invoices(subscription_id=sub["id"])
    assert lines(first) == [("subscription", 4900, "Pro"), ("addon", 1500, "Seats × 3"), ("addon", 2000, "Setup")]
    assert (first["total"], first["status"]) == (8400, "paid")
    api.advance(clock, "2026-07-01T00:00:00Z")
    renewal = api.invoices(subscription_id=sub["id"])[-1]
    assert lines(renewal) == [("subscription", 4900, "Pro"), ("addon", 1500, "Seats × 3")]


def test_addons_added_and_removed_mid_period_are_prorated(api: TenureClient):
    pro = plan(api, "Pro", 30000)
    seats, support = addon(api, "Seats", 600, interval="month"), addon(api, "Support", 3000, interval="month")
    with account_settings(api, proration="immediate"):
        clock = api.create_clock("2026-06-01T00:00:00Z")
        sub = api.post(
            "subscription",
            "/v1/subscriptions",
            {"customer_id": customer(api, clock), "plan_code": pro, "addons": [{"code": seats, "quantity": 2}]},
        )
        api.advance(clock, "2026-06-16T00:00:00Z")
        added = api.post(
            "subscription",
            f"/v1/subscriptions/{sub['id']}/changes",
            {"addons": [{"code": seats, "quantity": 2}, {"code": support}]},
        )
        assert [(line["amount"], line["description"]) for line in added["lines"]] == [(1500, "Support (15/30 days)")]
        removed = api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes", {"addons": [{"code": support}]})
        assert [(line["amount"], line["description"]) for line in removed["lines"]] == [(-600, "Unused Seats × 2 (15/30 days)")]
        assert removed["credit_note_amount"] == 600
        assert subscription(api, sub["id"])["addons"] == [{"code": support, "quantity": 1}]
        api.advance(clock, "2026-07-01T00:00:00Z")
        invoices = api.invoices(subscription_id=sub["id"])
        assert [i["total"] for i in invoices] == [31200, 1500, 33000]
        assert lines(invoices[-1]) == [("subscription", 30000, "Pro"), ("addon", 3000, "Support")]


def test_addon_refusals(api: TenureClient):
    pro = plan(api, "Pro", 4900)
    yearly = addon(api, "Yearly extra", 1000, interval="year")
    old, fine = addon(api, "Old", 100, interval="month"), addon(api, "Fine", 100, interval="month")
    api.post("subscription", f"/v1/addons/{old}/archive")
    euro = api.unique("euro")
    api.post("subscription", "/v1/addons", {"code": euro, "name": "Euro", "currency": "EUR", "amount": 100, "interval": "month"})
    clock = api.create_clock("2026-06-01T00:00:00Z")
    cus = customer(api, clock)
    for addons, code in [
        ([{"code": yearly}], "addon_interval_mismatch"),
        ([{"code": old}], "addon_archived"),
        ([{"code": euro}], "currency_mismatch"),
        ([{"code": fine}, {"code": fine}], "duplicate_addon"),
        ([{"code": fine, "quantity": 0}], "invalid_quantity"),
    ]:
        body = {"customer_id": cus, "plan_code": pro, "addons": addons}
        assert problem(api, "subscription", "/v1/subscriptions", body, 422)["code"] == code
    assert api.get("subscription", "/v1/subscriptions", params={"customer_id": cus})["data"] == []


def test_one_time_addon_bought_in_a_trial_is_billed_with_the_first_invoice(api: TenureClient):
    pro = plan(api, "Pro", 4900, trial_days=14)
    setup = addon(api, "Setup", 2000, one_time=True)
    clock = api.create_clock("2026-03-01T00:00:00Z")
    sub = api.post(
        "subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": pro, "addons": [{"code": setup}]}
    )
    api.wait_ready(clock)
    assert (sub["status"], api.invoices(subscription_id=sub["id"])) == ("trialing", [])
    api.advance(clock, "2026-03-15T00:00:00Z")
    [first] = api.invoices(subscription_id=sub["id"])
    assert lines(first) == [("subscription", 4900, "Pro"), ("addon", 2000, "Setup")]
