"""One active worker per service: a second copy waits, and takes over when the first dies."""

from __future__ import annotations

import time

import pytest

from tenure_tools.stack import ServiceProcess
from tests.support.client import TenureClient


def _log_has(process: ServiceProcess, text: str, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.log_path.exists() and text in process.log_path.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
def test_standby_worker_takes_over_when_the_active_one_is_killed(api: TenureClient, stack, catalog, tmp_path):
    active = stack.processes[("invoicing", "worker")]
    standby = ServiceProcess("invoicing", "worker", active.command, active.env, tmp_path / "standby.log")
    standby.start()
    try:
        assert _log_has(standby, "worker_standby")
        assert "worker_active" not in standby.log_path.read_text()
        active.kill()
        assert _log_has(standby, "worker_active")

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
        standby.stop()
        if not active.alive():
            active.start()
