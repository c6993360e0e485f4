"""The embedded broker restarts empty. The services notice on their own (a new cluster id), create
the topics again, re-send recent outbox events and re-read from the start; inboxes drop repeats.
Nothing written while the broker was down is lost, and nothing is applied twice.
"""

from __future__ import annotations

import os

import pytest

from tests.support.client import TenureClient

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="restarts the embedded broker; an external one is not ours to restart"
)


def _subscribe(api: TenureClient, clock: str, plan: str, name: str) -> dict:
    customer = api.post(
        "subscription",
        "/v1/customers",
        {"email": f"{name}@example.com", "name": name, "currency": "USD", "payment_method": "pm_test_ok", "test_clock_id": clock},
    )["id"]
    return api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan})


@pytest.mark.e2e
def test_services_recover_from_broker_restart_without_loss_or_duplicates(api: TenureClient, stack, catalog):
    clock = api.create_clock("2026-03-01T00:00:00Z")
    before = _subscribe(api, clock, catalog["pro"], "before-restart")
    api.wait_ready(clock)
    assert len(api.invoices(subscription_id=before["id"])) == 1

    stack.broker.stop()
    # Written while the broker is down: the rows wait in the outboxes.
    during = [_subscribe(api, clock, catalog["pro"], f"during-{n}") for n in range(3)]
    stack.broker.start()

    api.wait_ready(clock, timeout=120)
    for subscription in [before, *during]:
        [invoice] = api.invoices(subscription_id=subscription["id"])
        assert (invoice["status"], invoice["total"]) == ("paid", 4900)

    # The services keep working after the restart: a renewal cascades as usual.
    api.advance(clock, "2026-04-01T00:00:00Z")
    for subscription in [before, *during]:
        invoices = api.invoices(subscription_id=subscription["id"])
        assert [(i["status"], i["period_start"]) for i in invoices] == [
            ("paid", "2026-03-01T00:00:00Z"),
            ("paid", "2026-04-01T00:00:00Z"),
        ]
