"""GET /v1/renewals: the renewals half of worked example 12, forecasts, CSV and refusals."""

from __future__ import annotations

import csv
import io

from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan


def renewals(api: TenureClient, clock: str, **params) -> list[dict]:
    return api.get("health-score", "/v1/renewals", params={"test_clock_id": clock, **params})["data"]


def test_a_yearly_renewal_is_listed_a_month_ahead_with_its_expected_amount(api: TenureClient):
    basic = plan(api, "Basic", 120000, interval="year")
    clock = api.create_clock("2026-01-01T00:00:00Z")
    who = customer(api, clock)
    sub = api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": basic})
    leaving = api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": basic})
    api.post("subscription", f"/v1/subscriptions/{leaving['id']}/cancel", {"when": "end_of_term"})
    pro, starter = plan(api, "Pro", 240000, interval="year"), plan(api, "Starter", 60000, interval="year")
    growing = api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": basic})
    shrinking = api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": basic})
    api.post("subscription", f"/v1/subscriptions/{growing['id']}/changes", {"plan_code": pro, "when": "end_of_term"})
    api.post("subscription", f"/v1/subscriptions/{shrinking['id']}/changes", {"plan_code": starter, "when": "end_of_term"})
    api.advance(clock, "2026-11-30T00:00:00Z")
    assert renewals(api, clock, within_days=30) == []  # 2027-01-01 is 32 days away

    api.advance(clock, "2026-12-10T00:00:00Z")
    listed = {r["subscription_id"]: r for r in renewals(api, clock, within_days=30)}
    assert set(listed) == {sub["id"], leaving["id"], growing["id"], shrinking["id"]}
    assert [(listed[s["id"]]["forecast"], listed[s["id"]]["expected_amount"]) for s in (growing, shrinking)] == [
        ("upsell", 240000),
        ("downgrade", 60000),
    ]
    assert listed[growing["id"]]["reasons"] == [f"a scheduled change to {pro} takes MRR from 10000 to 20000"]
    by_amount = [r["subscription_id"] for r in renewals(api, clock, within_days=30, sort="-expected_amount")]
    assert (by_amount[0], by_amount[-1]) == (growing["id"], shrinking["id"])
    renewal = listed[sub["id"]]
    assert {
        k: renewal[k] for k in ("customer_id", "renews_at", "plan_code", "interval", "expected_amount", "currency", "mrr")
    } == {
        "customer_id": who,
        "renews_at": "2027-01-01T00:00:00Z",
        "plan_code": basic,
        "interval": "year",
        "expected_amount": 120000,
        "currency": "USD",
        "mrr": 10000,
    }
    assert (renewal["forecast"], renewal["quote"]) == ("renew", None)
    assert set(renewal["health"]) == {"score", "status"}
    assert (listed[leaving["id"]]["forecast"], listed[leaving["id"]]["reasons"]) == (
        "churn",
        ["a cancellation is scheduled at the end of the period"],
    )
    assert [r["subscription_id"] for r in renewals(api, clock, within_days=30, forecast="churn")] == [leaving["id"]]
    real_time = api.get("health-score", "/v1/renewals", params={"within_days": 30})["data"]
    assert all(r["customer_id"] != who for r in real_time)

    as_csv = api.request(
        "health-score", "GET", "/v1/renewals", params={"test_clock_id": clock, "within_days": 30}, headers={"Accept": "text/csv"}
    )
    rows = {row["subscription_id"]: row for row in csv.DictReader(io.StringIO(as_csv.text))}
    assert (rows[sub["id"]]["expected_amount"], rows[sub["id"]]["forecast"]) == ("120000", "renew")


def test_bad_report_parameters_are_refused_with_codes(api: TenureClient):
    cases = [
        ("/v1/renewals", {"within_days": 0}, "invalid_report_window"),
        ("/v1/renewals", {"forecast": "maybe"}, "invalid_forecast"),
        ("/v1/renewals", {"sort": "name"}, "invalid_sort"),
        ("/v1/reports/retention", {"from": "2026-07-01T00:00:00Z", "to": "2026-06-01T00:00:00Z"}, "invalid_report_window"),
        ("/v1/reports/retention", {"to": "2026-06-01T00:00:00Z"}, "invalid_report_window"),
        (
            "/v1/reports/mrr",
            {"from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z", "interval": "hour"},
            "invalid_interval",
        ),
        (
            "/v1/reports/mrr",
            {"from": "2000-01-01T00:00:00Z", "to": "2026-07-01T00:00:00Z", "interval": "day"},
            "invalid_report_window",
        ),
    ]
    for path, params, code in cases:
        reply = api.request("health-score", "GET", path, params=params)
        assert (reply.status_code, reply.json()["code"]) == (422, code), (path, params, reply.text)
        assert reply.headers["content-type"].startswith("application/problem+json")
