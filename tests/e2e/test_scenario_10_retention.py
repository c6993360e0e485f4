"""Scenario 10 of retention-examples.md: a month of retention figures, through the public API on a test clock."""

from __future__ import annotations

import csv
import io

from tests.support.client import TenureClient
from tests.support.lifecycle import account_settings, customer, plan


def test_a_month_of_retention_figures(api: TenureClient):
    prices = {amount: plan(api, f"Plan {amount // 100}", amount) for amount in (5000, 8000, 10000, 15000, 20000, 30000)}
    with account_settings(api, proration="immediate"):
        clock = api.create_clock("2026-05-01T00:00:00Z")

        def subscribe(amount: int) -> str:
            return api.post(
                "subscription", "/v1/subscriptions", {"customer_id": customer(api, clock), "plan_code": prices[amount]}
            )["id"]

        a, b, c, d = (subscribe(amount) for amount in (10000, 20000, 30000, 5000))
        api.advance(clock, "2026-06-05T00:00:00Z")
        api.post("subscription", f"/v1/subscriptions/{a}/changes", {"plan_code": prices[15000], "when": "now"})
        api.post("subscription", f"/v1/subscriptions/{b}/changes", {"plan_code": prices[10000], "when": "now"})
        api.post("subscription", f"/v1/subscriptions/{c}/cancel", {"when": "now", "unused_amount": "none"})
        api.post("subscription", f"/v1/subscriptions/{d}/pause", {})
        api.advance(clock, "2026-06-10T00:00:00Z")
        subscribe(8000)
        api.advance(clock, "2026-07-01T00:00:00Z")

        window = {"from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z", "test_clock_id": clock}
        report = api.get("health-score", "/v1/reports/retention", params=window)
        assert (report["currency"], report["mrr_start"], report["mrr_end"]) == ("USD", 65000, 33000)
        assert report["movements"] == {
            "new": 8000,
            "reactivation": 0,
            "resumed": 0,
            "expansion": 5000,
            "contraction": 10000,
            "churn": 30000,
            "paused": 5000,
        }
        assert report["customers"] == {
            "new": 1,
            "reactivation": 0,
            "resumed": 0,
            "expansion": 1,
            "contraction": 1,
            "churn": 1,
            "paused": 1,
        }
        assert (report["grr"], report["nrr"], report["logo_churn"]) == ("0.3846", "0.4615", "0.2500")
        # The four renewals of 06-01 fell in the window and were issued; those of 07-01 lie outside it.
        assert report["renewal_rate"] == {"by_count": "1.0000", "by_value": "1.0000"}
        assert report["free_plan_moves"] == 0

        # Real-time customers only without the clock: this clock's customers are not in them.
        real_time = api.get("health-score", "/v1/reports/retention", params={k: window[k] for k in ("from", "to")})
        assert real_time["mrr_start"] == 0 and real_time["mrr_end"] == 0

        as_csv = api.request("health-score", "GET", "/v1/reports/retention", params=window, headers={"Accept": "text/csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        (row,) = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert (row["mrr_start"], row["movements.churn"], row["grr"]) == ("65000", "30000", "0.3846")

        series = api.get("health-score", "/v1/reports/mrr", params={**window, "interval": "week"})
        assert [(p["at"], p["mrr"]) for p in series["data"]][:2] == [
            ("2026-06-01T00:00:00Z", 65000),
            ("2026-06-08T00:00:00Z", 25000),
        ]
        assert series["data"][-1] == {"at": "2026-07-01T00:00:00Z", "mrr": 33000}
