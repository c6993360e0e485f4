"""Billing calendar end to end: anchors on the 29th-31st, leap years, multi-unit intervals and the
account timezone; periods are UTC instants. Public API only, on test clocks.
"""

from __future__ import annotations

from tests.support.client import TenureClient
from tests.support.lifecycle import account_settings, customer, lines, plan


def _periods(api: TenureClient, subscription_id: str) -> list[tuple[str, str]]:
    return [(i["period_start"][:10], i["period_end"][:10]) for i in api.invoices(subscription_id=subscription_id)]


def _subscribe(api: TenureClient, clock: str, plan_code: str) -> dict:
    return api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": plan_code})


def test_month_end_anchor_keeps_month_ends(api: TenureClient, catalog):
    clock = api.create_clock("2026-01-31T00:00:00Z")
    sub = _subscribe(api, clock, catalog["pro"])
    api.advance(clock, "2026-05-01T00:00:00Z")
    assert _periods(api, sub["id"]) == [
        ("2026-01-31", "2026-02-28"),
        ("2026-02-28", "2026-03-31"),
        ("2026-03-31", "2026-04-30"),
        ("2026-04-30", "2026-05-31"),
    ]


def test_leap_years(api: TenureClient, catalog):
    clock = api.create_clock("2028-01-31T00:00:00Z")
    monthly = _subscribe(api, clock, catalog["pro"])
    yearly_plan = plan(api, "Annual", 120000, interval="year")
    api.advance(clock, "2028-02-29T00:00:00Z")
    yearly = _subscribe(api, clock, yearly_plan)
    api.advance(clock, "2029-03-01T00:00:00Z")
    assert _periods(api, monthly["id"])[:3] == [
        ("2028-01-31", "2028-02-29"),
        ("2028-02-29", "2028-03-31"),
        ("2028-03-31", "2028-04-30"),
    ]
    assert _periods(api, yearly["id"]) == [("2028-02-29", "2029-02-28"), ("2029-02-28", "2030-02-28")]


def test_interval_count_and_weeks_and_days(api: TenureClient):
    fortnightly = plan(api, "Fortnightly", 2000, interval="week", interval_count=2)
    every_10_days = plan(api, "Ten days", 1000, interval="day", interval_count=10)
    quarterly = plan(api, "Quarterly", 9000, interval="month", interval_count=3)
    clock = api.create_clock("2026-06-01T00:00:00Z")
    subs = [_subscribe(api, clock, p) for p in (fortnightly, every_10_days, quarterly)]
    api.advance(clock, "2026-07-01T00:00:00Z")
    assert [_periods(api, s["id"]) for s in subs] == [
        [("2026-06-01", "2026-06-15"), ("2026-06-15", "2026-06-29"), ("2026-06-29", "2026-07-13")],
        [("2026-06-01", "2026-06-11"), ("2026-06-11", "2026-06-21"), ("2026-06-21", "2026-07-01"), ("2026-07-01", "2026-07-11")],
        [("2026-06-01", "2026-09-01")],
    ]


def test_account_timezone_sets_period_boundaries_and_proration_days(api: TenureClient):
    basic, pro = plan(api, "Basic", 10000), plan(api, "Pro", 30000)
    with account_settings(api, timezone="America/New_York", proration="immediate"):
        # Midnight in New York on March 1st (EST); the period ends at midnight April 1st (EDT).
        clock = api.create_clock("2026-03-01T05:00:00Z")
        sub = _subscribe(api, clock, basic)
        assert (sub["current_period_start"], sub["current_period_end"]) == ("2026-03-01T05:00:00Z", "2026-04-01T04:00:00Z")
        # 03:00 UTC on March 16th is still March 15th in New York: 17 of 31 local days are left.
        api.advance(clock, "2026-03-16T03:00:00Z")
        change = api.post("subscription", f"/v1/subscriptions/{sub['id']}/changes", {"plan_code": pro})
        assert [(line["amount"], line["description"]) for line in change["lines"]] == [
            (-5484, "Unused Basic (17/31 days)"),
            (16452, "Pro (17/31 days)"),
        ]
        api.advance(clock, "2026-04-01T04:00:00Z")
        renewal = api.invoices(subscription_id=sub["id"])[-1]
        assert (renewal["period_start"], renewal["period_end"]) == ("2026-04-01T04:00:00Z", "2026-05-01T04:00:00Z")
        assert lines(renewal) == [("subscription", 30000, "Pro")]
