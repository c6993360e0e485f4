"""End-to-end fixtures: a fresh catalog for each test (codes are unique per test)."""

from __future__ import annotations

import pytest

from tests.support.client import TenureClient
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(autouse=True)
def services_supervised(stack):
    """Every test starts with every service process running: a worker that a fault test's database
    outage made exit is started again, as `tenure dev` (or a container runtime) would."""
    stack.restart_stopped()


@pytest.fixture
def catalog(api: TenureClient) -> dict[str, str]:
    """`pro` 49.00 a month and `free` 0.00 a month, with `free` as the account's free plan."""
    pro, free = api.unique("pro"), api.unique("free")
    api.post("subscription", "/v1/plans", {"code": pro, "name": "Pro", "currency": "USD", "amount": 4900, "interval": "month"})
    api.post("subscription", "/v1/plans", {"code": free, "name": "Free", "currency": "USD", "amount": 0, "interval": "month"})
    api.patch("subscription", "/v1/settings", {"free_plan_code": free})
    return {"pro": pro, "free": free}


@pytest.fixture
def receiver():
    """A real HTTP server in the test process that webhook endpoints deliver to."""
    server = WebhookReceiver().start()
    yield server
    server.stop()
