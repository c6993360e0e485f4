"""Every worker of a service is active: a second copy takes a share of the leases at once, and takes
everything over when the first dies."""

from __future__ import annotations

import asyncio
import time

import pytest

from tenure_shared.db import connect_raw, service_database_url
from tenure_tools.stack import ServiceProcess
from tests.support.client import TenureClient


def _holders(stack) -> dict[int, int]:
    """invoicing's lease holders: worker pid -> leases held."""

    async def fetch():
        connection = await connect_raw(service_database_url(stack.database_url, "invoicing", stack.database_prefix))
        try:
            rows = await connection.fetch("SELECT owner, count(*) AS n FROM leases WHERE owner IS NOT NULL GROUP BY owner")
            return {int(row["owner"].split(":")[1]): row["n"] for row in rows}
        finally:
            await connection.close()

    return asyncio.run(fetch())


def _until(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
def test_a_second_worker_shares_the_work_and_takes_it_all_when_the_first_is_killed(api: TenureClient, stack, catalog, tmp_path):
    first = stack.processes[("invoicing", "worker")]
    second = ServiceProcess("invoicing", "worker", first.command, first.env, tmp_path / "second.log")
    second.start()
    try:
        assert _until(lambda: set(_holders(stack)) == {first.process.pid, second.process.pid}, 30), "both active"
        total = sum(_holders(stack).values())
        first.kill()
        assert _until(lambda: _holders(stack) == {second.process.pid: total}, 15), "the second took everything within 15 s"

        clock = api.create_clock("2026-03-01T00:00:00Z")
        customer = api.post(
            "subscription",
            "/v1/customers",
            {
                "email": "failover@example.com",
                "name": "F",
                "currency": "USD",
                "payment_method": "pm_test_ok",
                "test_clock_id": clock,
            },
        )["id"]
        subscription = api.post("subscription", "/v1/subscriptions", {"customer_id": customer, "plan_code": catalog["pro"]})
        api.wait_ready(clock)
        [invoice] = api.invoices(subscription_id=subscription["id"])
        assert invoice["status"] == "paid"
    finally:
        second.stop()
        if not first.alive():
            first.start()
