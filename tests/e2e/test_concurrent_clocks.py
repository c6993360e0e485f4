"""Test clocks advance concurrently: a clock with many customers moving through half a year does not
hold up a one-customer clock in another test (issue 15.3)."""

from __future__ import annotations

import time

from tests.support.client import TenureClient
from tests.support.lifecycle import customer, plan

BIG_CLOCK_CUSTOMERS = 24  # six renewals each: the big advance runs for tens of seconds
SMALL_ADVANCE_READY_WITHIN_SECONDS = 15.0  # measured 7 s on the loaded 2-core machine; the old serial coordinator: 30+ s


def test_a_small_clock_is_ready_within_seconds_while_a_big_one_advances_half_a_year(api: TenureClient, catalog):
    monthly = plan(api, "Pro", 4900)
    big = api.create_clock("2026-01-01T00:00:00Z")
    big_subscriptions = [
        api.post("subscription", "/v1/subscriptions", {"customer_id": customer(api, big), "plan_code": monthly})["id"]
        for _ in range(BIG_CLOCK_CUSTOMERS)
    ]
    trial = plan(api, "Trial", 4900, trial_days=14)
    small = api.create_clock("2026-01-01T00:00:00Z")
    small_customer = customer(api, small)
    small_subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": small_customer, "plan_code": trial})
    api.wait_ready(big)
    api.wait_ready(small)

    api.post("subscription", f"/v1/test-clocks/{big}/advance", {"frozen_time": "2026-07-01T00:00:00Z"})
    time.sleep(2.0)  # the big clock is well into its half year
    started = time.monotonic()
    api.advance(small, "2026-01-22T00:00:00Z", timeout=SMALL_ADVANCE_READY_WITHIN_SECONDS)
    small_took = time.monotonic() - started

    assert api.get("subscription", f"/v1/test-clocks/{big}")["status"] == "advancing"  # the two really overlapped
    assert small_took < SMALL_ADVANCE_READY_WITHIN_SECONDS
    # The small clock's trial ended and its first invoice was paid inside its three weeks.
    after = api.get("subscription", f"/v1/subscriptions/{small_subscription['id']}")
    assert (after["status"], after["current_period_start"]) == ("active", "2026-01-15T00:00:00Z")
    assert [i["status"] for i in api.invoices(customer_id=small_customer)] == ["paid"]

    big_started = started - 2.0
    api.wait_ready(big, timeout=300.0)
    print(f"small clock ready in {small_took:.1f} s; big clock took {time.monotonic() - big_started:.1f} s")
    renewed = api.get("subscription", f"/v1/subscriptions/{big_subscriptions[0]}")
    assert renewed["current_period_start"] == "2026-07-01T00:00:00Z"
