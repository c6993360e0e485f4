"""(b) One simulated year of M customers on a test clock: 10% have the sandbox's declining card, so
their first invoice goes into dunning and, after the last retry, their subscription moves to the
free plan; the rest renew every month. One advance over the whole year, timed until `ready`."""

from __future__ import annotations

import time
from typing import Any

from tenure_tools.bench.common import api_client, wait_clock
from tenure_tools.bench.seed import Catalog, create_clock, seed_subscriptions
from tenure_tools.stack import Stack

START = "2026-01-01T00:00:00Z"
END = "2027-01-01T00:00:00Z"
DECLINING_EVERY = 10  # every tenth customer: 10%


def simulated_year(stack: Stack, catalog: Catalog, customers: int, *, seed_clients: int = 16) -> dict[str, Any]:
    clock = create_clock(stack, START)
    created, seed_seconds = seed_subscriptions(
        stack, clock, catalog.pro, customers, clients=seed_clients, declining_every=DECLINING_EVERY
    )
    sub_url = stack.url("subscription")
    with api_client() as http:
        wait_clock(http, sub_url, clock)
        began = time.perf_counter()
        http.post(f"{sub_url}/v1/test-clocks/{clock}/advance", json={"frozen_time": END}).raise_for_status()
        wait_clock(http, sub_url, clock)
        seconds = time.perf_counter() - began
        plans: dict[str, int] = {}
        for n, (_, subscription) in enumerate(created):
            if n % DECLINING_EVERY == 0 or n % 97 == 1:  # every declining one, and a sample of the others
                body = http.get(f"{sub_url}/v1/subscriptions/{subscription}").json()
                kind = "declining" if n % DECLINING_EVERY == 0 else "paying"
                where = "free" if body["on_free_plan"] else body["current_period_end"]
                plans[f"{kind}:{where}"] = plans.get(f"{kind}:{where}", 0) + 1
    declining = len(range(0, len(created), DECLINING_EVERY))
    return {
        "customers": len(created),
        "declining_customers": declining,
        "seconds": round(seconds, 2),
        "checked_subscriptions": plans,
        "declining_all_on_free_plan": plans.get("declining:free", 0) == declining,
        "seeding_seconds": round(seed_seconds, 2),
    }
