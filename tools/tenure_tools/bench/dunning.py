"""(d) The final failed payment retry → the invoice void and the subscription on the free plan.

K customers, each on a clock of its own (so one measurement never waits for another's work), with
a card that declines at the renewal of 2026-04-01; dunning retries on 04-02, 04-04 and 04-06. All
clocks are brought to just before the last retry; then, one customer at a time, the clock advances
over it and the invoice and the subscription are polled until both show the outcome. The latency is
from the advance request to the moment both are visible through the API."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tenure_tools.bench.common import API_KEY, api_client, latency_ms, wait_clock
from tenure_tools.bench.seed import Catalog, create_clock, seed_subscriptions
from tenure_tools.stack import Stack

START = "2026-03-01T00:00:00Z"
BEFORE_LAST_RETRY = "2026-04-05T12:00:00Z"
LAST_RETRY = "2026-04-06T00:00:00Z"
POLL_SECONDS = 0.005


async def _measure_one(stack: Stack, clock: str, customer: str, subscription: str) -> dict[str, float]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with httpx.AsyncClient(headers=headers, timeout=60) as http:
        invoices = (await http.get(f"{stack.url('invoicing')}/v1/invoices", params={"customer_id": customer})).json()["data"]
        [renewal] = [i["id"] for i in invoices if i["status"] == "open"]
        invoice_url = f"{stack.url('invoicing')}/v1/invoices/{renewal}"
        subscription_url = f"{stack.url('subscription')}/v1/subscriptions/{subscription}"
        began = time.perf_counter()
        response = await http.post(
            f"{stack.url('subscription')}/v1/test-clocks/{clock}/advance", json={"frozen_time": LAST_RETRY}
        )
        response.raise_for_status()
        void_at = free_at = None
        while void_at is None or free_at is None:
            if time.perf_counter() - began > 60:
                raise RuntimeError(f"invoice {renewal} not void or subscription {subscription} not on the free plan after 60 s")
            invoice, moved = await asyncio.gather(http.get(invoice_url), http.get(subscription_url))
            now = time.perf_counter() - began
            if void_at is None and invoice.json()["status"] == "void":
                void_at = now
            if free_at is None and moved.json()["on_free_plan"]:
                free_at = now
            await asyncio.sleep(POLL_SECONDS)
    return {"both": max(void_at, free_at), "void": void_at, "free_plan": free_at}


def final_retry_latency(stack: Stack, catalog: Catalog, customers: int) -> dict[str, Any]:
    clocks = [create_clock(stack, START) for _ in range(customers)]
    created, _ = seed_subscriptions(stack, clocks, catalog.pro, customers, clients=min(8, customers), declining_every=0)
    sub_url = stack.url("subscription")
    with api_client() as http:
        for clock in clocks:
            wait_clock(http, sub_url, clock)
        for customer, _ in created:
            http.patch(f"{sub_url}/v1/customers/{customer}", json={"payment_method": "pm_test_declined"}).raise_for_status()
        for clock in clocks:
            http.post(f"{sub_url}/v1/test-clocks/{clock}/advance", json={"frozen_time": BEFORE_LAST_RETRY}).raise_for_status()
        for clock in clocks:
            wait_clock(http, sub_url, clock)
    measured = [asyncio.run(_measure_one(stack, clock, c, s)) for clock, (c, s) in zip(clocks, created, strict=True)]
    return {
        "customers": len(measured),
        "latency_ms": latency_ms([m["both"] for m in measured]),
        "invoice_void_ms": latency_ms([m["void"] for m in measured]),
        "free_plan_ms": latency_ms([m["free_plan"] for m in measured]),
        "poll_interval_ms": POLL_SECONDS * 1000,
    }
