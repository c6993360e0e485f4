"""Reading a test clock while a peer service cannot say whether it has finished its work."""

from __future__ import annotations

from datetime import UTC, datetime

from tenure_shared.ids import new_id
from tenure_subscription.models import TestClock
from tenure_subscription.statuses import TestClockStatus


async def test_a_ready_clock_reads_as_advancing_while_a_peer_cannot_answer(subscription):
    # The service layer's peers listen on no port: the settle check cannot reach them.
    at = datetime(2026, 1, 1, tzinfo=UTC)
    clock = TestClock(id=new_id("clock"), name=None, frozen_time=at, target_time=at, status=TestClockStatus.READY)
    subscription.session.add(clock)
    await subscription.session.flush()
    response = await subscription.client.get(f"/v1/test-clocks/{clock.id}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "advancing"
    assert response.json()["frozen_time"] == "2026-01-01T00:00:00Z"
