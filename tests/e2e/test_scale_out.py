"""Two active workers per service share the work through leases, keep each customer's events in
order, and lose or double nothing, also when one of them is SIGKILLed mid-run: its share moves to
the other within 15 s.

The session stack runs one worker per service; these tests start a second one for every service
and stop it afterwards.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import defaultdict

import httpx
import pytest

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.services import SERVICES
from tests.support.client import TenureClient

CUSTOMERS = 24
TAKEOVER_SECONDS = 15.0


@pytest.fixture
def two_workers(stack):
    """A second worker for every service, for this test only."""
    started = [stack.start_process(service, "worker-2") for service in SERVICES]
    try:
        _until(lambda: all(len(_owners(stack, s)) == 2 for s in SERVICES), seconds=30, what="both workers hold leases")
        yield started
    finally:
        extra = [stack.processes.pop((service, "worker-2")) for service in SERVICES]
        for process in extra:  # SIGTERM to all first: each takes a few seconds to give its leases back
            if process.alive():
                process.process.terminate()
        for process in extra:
            process.stop()


def _until(condition, *, seconds: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)
    return time.monotonic() - started


def _query(stack, service: str, sql: str) -> list:
    async def fetch():
        connection = await connect_raw(service_database_url(stack.database_url, service, stack.database_prefix))
        try:
            return await connection.fetch(sql)
        finally:
            await connection.close()

    return asyncio.run(fetch())


def _owners(stack, service: str, kind: str | None = None) -> dict[int, int]:
    """Live lease holders of the service: worker pid -> leases held (the worker id carries the pid)."""
    where = f"AND kind = '{kind}'" if kind else ""
    rows = _query(stack, service, f"SELECT owner, count(*) AS n FROM leases WHERE owner IS NOT NULL {where} GROUP BY owner")
    return {int(row["owner"].split(":")[1]): row["n"] for row in rows}


def _subscribe_many(api: TenureClient, clock: str, plan: str) -> list[dict]:
    subscriptions = []
    for n in range(CUSTOMERS):
        customer = api.post(
            "subscription",
            "/v1/customers",
            {
                "email": f"scale{n}@example.com",
                "name": f"S{n}",
                "currency": "USD",
                "payment_method": "pm_test_ok",
                "test_clock_id": clock,
            },
        )["id"]
        subscriptions.append(api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": plan}))
    return subscriptions


def _assert_each_event_consumed_once(stack, api: TenureClient, clock: str) -> int:
    """Every consumer's inbox holds exactly the events produced on its topics for the clock."""
    headers = {"Authorization": f"Bearer {stack.internal_token}"}
    counts = {s: httpx.get(f"{api.urls[s]}/internal/test-clocks/{clock}/counts", headers=headers).json() for s in SERVICES}
    produced: dict[str, int] = defaultdict(int)
    for answer in counts.values():
        assert answer["unsent"] == 0
        for topic, n in answer["produced"].items():
            produced[topic] += n
    for service, answer in counts.items():
        for topic in answer["consumes"]:
            assert answer["consumed"].get(topic, 0) == produced.get(topic, 0), f"{service} on {topic}"
    return sum(produced.values())


def _assert_per_customer_order(stack, clock: str) -> None:
    """invoicing consumed each customer's subscription events in the order subscription-svc wrote them.
    `received_at` is the consuming transaction's time: events handled in one batch share it (their
    order inside a batch is tests/integration/test_consumer_batches.py's), so the times only never
    go back."""
    sent = _query(
        stack,
        "subscription",
        f"SELECT event_id, key FROM outbox_messages WHERE clock_id = '{clock}' AND topic = 'tenure.subscriptions' ORDER BY id",
    )
    received = {
        row["event_id"]: row["received_at"]
        for row in _query(stack, "invoicing", f"SELECT event_id, received_at FROM inbox_events WHERE clock_id = '{clock}'")
    }
    per_customer: dict[str, list] = defaultdict(list)
    for row in sent:
        per_customer[row["key"]].append(received[row["event_id"]])
    assert len(per_customer) == CUSTOMERS
    for customer, times in per_customer.items():
        assert len(times) >= 4
        assert times == sorted(times), f"{customer}'s events out of order"


def _assert_invoiced_once_per_period(api: TenureClient, subscriptions: list[dict], periods: int) -> None:
    for subscription in subscriptions:
        invoices = api.invoices(subscription_id=subscription["id"])
        assert len(invoices) == periods and {i["status"] for i in invoices} == {"paid"}
        assert len({i["period_start"] for i in invoices}) == periods


@pytest.mark.e2e
def test_two_active_workers_per_service_share_the_work_and_keep_order(api: TenureClient, stack, catalog, two_workers):
    clock = api.create_clock("2026-01-01T00:00:00Z")
    subscriptions = _subscribe_many(api, clock, catalog["pro"])
    api.advance(clock, "2026-04-01T00:00:00Z", timeout=240)

    for service in SERVICES:
        partitions = _owners(stack, service, "partition")
        assert len(partitions) == 2, f"both {service} workers consume: {partitions}"
        assert len(_owners(stack, service, "outbox")) == 2, f"both {service} workers relay"
    assert _assert_each_event_consumed_once(stack, api, clock) >= 300
    _assert_per_customer_order(stack, clock)
    _assert_invoiced_once_per_period(api, subscriptions, periods=4)


@pytest.mark.e2e
@pytest.mark.skipif(bool(os.environ.get("KAFKA_BOOTSTRAP_SERVERS")), reason="timings measured on the embedded broker")
def test_a_sigkilled_workers_share_moves_within_15_s_and_nothing_is_lost_or_doubled(
    api: TenureClient, stack, catalog, two_workers
):
    clock = api.create_clock("2026-01-01T00:00:00Z")
    subscriptions = _subscribe_many(api, clock, catalog["pro"])
    victim = stack.processes[("invoicing", "worker-2")]
    survivor = stack.processes[("invoicing", "worker")]
    assert victim.process.pid in _owners(stack, "invoicing", "partition")

    taken_over: list[float] = []

    def kill_mid_run() -> None:
        time.sleep(1.0)
        victim.kill()
        taken_over.append(
            _until(
                lambda: (
                    set(_owners(stack, "invoicing")) == {survivor.process.pid}
                    and sum(_owners(stack, "invoicing").values()) == len(_query(stack, "invoicing", "SELECT 1 FROM leases"))
                ),
                seconds=TAKEOVER_SECONDS,
                what="the killed worker's leases moved to the survivor",
            )
        )

    killer = threading.Thread(target=kill_mid_run)
    killer.start()
    try:
        api.advance(clock, "2026-04-01T00:00:00Z", timeout=240)
    finally:
        killer.join()
    assert not victim.alive()
    assert taken_over and taken_over[0] < TAKEOVER_SECONDS
    print(f"invoicing: the SIGKILLed worker's leases moved in {taken_over[0]:.1f} s")

    _assert_each_event_consumed_once(stack, api, clock)
    _assert_per_customer_order(stack, clock)
    _assert_invoiced_once_per_period(api, subscriptions, periods=4)
