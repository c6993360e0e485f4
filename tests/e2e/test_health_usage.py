"""Adoption and expansion driven by real usage: usage events into invoicing, usage.recorded over the
bus into health-score-svc, and the expansion_signal read off the broker."""

from __future__ import annotations

import time

from tests.e2e.test_scenario_11_health import health_events
from tests.support.client import TenureClient
from tests.support.lifecycle import customer

HEALTH = "health-score"


def test_usage_near_the_included_units_is_an_expansion_signal(api: TenureClient, stack):
    clock = api.create_clock("2026-05-10T00:00:00Z")
    metric = api.unique("api_calls")
    api.post("subscription", "/v1/metrics", {"code": metric, "name": "API calls", "aggregation": "sum"})
    plan = api.unique("metered")
    charge = {"metric_code": metric, "model": "per_unit", "unit_amount": 10, "included_units": 100}
    api.post(
        "subscription",
        "/v1/plans",
        {"code": plan, "name": "Metered", "currency": "USD", "amount": 1000, "interval": "month", "metered_charges": [charge]},
    )
    who = customer(api, clock)
    subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": who, "plan_code": plan})
    api.wait_ready(clock)
    api.post(
        HEALTH,
        "/v1/signals/activity",
        {"events": [{"id": api.unique("a"), "customer_id": who, "name": "login", "at": "2026-05-10T00:00:00Z"}]},
    )
    assert api.get(HEALTH, f"/v1/customers/{who}/health")["lifecycle_stage"] == "adoption"

    usage = {"id": api.unique("u"), "customer_id": who, "subscription_id": subscription["id"], "metric_code": metric}
    api.post("invoicing", "/v1/usage-events", {"events": [{**usage, "timestamp": "2026-05-10T00:00:00Z", "value": 90}]})
    deadline = time.monotonic() + 30
    while (health := api.get(HEALTH, f"/v1/customers/{who}/health"))["lifecycle_stage"] != "expansion":
        assert time.monotonic() < deadline, health  # invoicing rolls usage up about every second
        time.sleep(0.1)
    api.wait_ready(clock)
    adoption = next(f for f in health["factors"] if f["name"] == "adoption")
    assert adoption["score"] == 100 and adoption["detail"] == "90% of the 100 included units used."
    [signal] = [e for e in health_events(stack.kafka_bootstrap, who) if e["type"] == "customer.expansion_signal"]
    assert signal["data"]["reasons"] == ["usage at 90% of the 100 included units"]
