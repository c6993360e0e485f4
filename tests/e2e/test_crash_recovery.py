"""Workers killed with SIGKILL in the middle of a busy cascade lose no event and apply none twice.

Thirty customers with a declining card go through a first invoice, three dunning retries, the void
and the move to the free plan, while the invoicing, dunning and subscription workers are killed and
restarted mid-stream (the subscription worker also drives the test clock). Afterwards every count
is exact.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.client import TenureClient

CUSTOMERS = 30


def _kill_and_restart_workers(stack, stop: threading.Event, kills: list[str]) -> None:
    for service in ["invoicing", "dunning", "subscription", "invoicing", "dunning"]:
        if stop.wait(0.7):
            return
        worker = stack.processes[(service, "worker")]
        worker.kill()
        kills.append(service)
        worker.start()


@pytest.mark.e2e
def test_sigkill_of_workers_mid_stream_loses_nothing_and_duplicates_nothing(api: TenureClient, stack, catalog):
    api.put("dunning", "/v1/dunning-policy", {"retry_after_days": [1, 3, 5], "final_action": "move_to_free_plan"})
    clock = api.create_clock("2026-03-01T00:00:00Z")
    subscriptions = []
    for n in range(CUSTOMERS):
        customer = api.post(
            "subscription",
            "/v1/customers",
            {
                "email": f"crash{n}@example.com",
                "name": f"Crash {n}",
                "currency": "USD",
                "payment_method": "pm_test_declined",
                "test_clock_id": clock,
            },
        )["id"]
        subscriptions.append(
            api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
        )

    stop, kills = threading.Event(), []
    killer = threading.Thread(target=_kill_and_restart_workers, args=(stack, stop, kills))
    started = time.monotonic()
    killer.start()
    try:
        api.advance(clock, "2026-03-07T00:00:00Z", timeout=300)
    finally:
        stop.set()
        killer.join()
    assert kills, "no worker was killed while the clock advanced"
    assert time.monotonic() - started > 0.7, "the cascade finished before the first kill"

    for subscription in subscriptions:
        invoices = api.invoices(subscription_id=subscription["id"])
        assert [(i["status"], i["void_reason"]) for i in invoices] == [("void", "dunning_exhausted")]
        payments = api.get("invoicing", "/v1/payments", params={"invoice_id": invoices[0]["id"]})["data"]
        assert len(payments) == 4 and {p["status"] for p in payments} == {"failed"}
        [case] = api.get("dunning", "/v1/dunning-cases", params={"invoice_id": invoices[0]["id"]})["data"]
        assert case["status"] == "exhausted" and len(case["attempts"]) == 4
        after = api.get("subscription", f"/v1/subscriptions/{subscription['id']}")
        assert (after["plan_code"], after["on_free_plan"]) == (catalog["free"], True)
        assert api.timeline_types(subscription["id"]).count("moved_to_free_plan") == 1
