"""The test-clock coordinator asks a service to run its due jobs again at once while it has more due
at the step (each call spends at most run-due's budget), not once per settle check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tenure_subscription.config import SERVICES
from tenure_subscription.service.test_clocks import _run_due

STEP = datetime(2026, 4, 1, tzinfo=UTC)


class FakeServices:
    """Answers run-due like the services would: `backlog[service]` jobs due at the step, `per_call`
    run per call; `later` is the next due instant once a service's backlog is done."""

    def __init__(self, backlog: dict[str, int], per_call: int, later: datetime | None = None):
        self.backlog = backlog
        self.per_call = per_call
        self.later = later
        self.calls: dict[str, int] = {}

    async def request(self, service: str, method: str, path: str, json: dict | None = None) -> dict:
        assert (method, path) == ("POST", "/internal/test-clocks/clock_1/run-due")
        self.calls[service] = self.calls.get(service, 0) + 1
        ran = min(self.per_call, self.backlog.get(service, 0))
        self.backlog[service] = self.backlog.get(service, 0) - ran
        next_due = STEP if self.backlog[service] else self.later
        return {"ran": ran, "next_due_at": next_due and next_due.isoformat(), "waiting_until": None}


async def test_a_service_with_more_due_at_the_step_is_asked_again_until_done():
    services = FakeServices({"subscription": 250}, per_call=100, later=STEP + timedelta(days=30))
    await _run_due(services, "clock_1", STEP)  # type: ignore[arg-type]
    assert services.backlog["subscription"] == 0
    assert services.calls == {"subscription": 3, **{s: 1 for s in SERVICES if s != "subscription"}}


async def test_a_service_that_ran_nothing_is_not_asked_again():
    """What is left is another runner's (or waits for an earlier job): the next step comes back to it."""
    services = FakeServices({"dunning": 5}, per_call=0)
    await _run_due(services, "clock_1", STEP)  # type: ignore[arg-type]
    assert services.calls["dunning"] == 1
