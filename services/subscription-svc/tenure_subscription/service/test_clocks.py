"""Test clocks: subscription-svc owns them and coordinates every service while one advances.

Advancing steps through every due moment in time order: ask all services for their earliest due
job on the clock, move every service's copy of the clock to that instant, have each run what is
due, then wait until the cascade has settled (every event produced for the clock has been consumed
by every service that consumes its topic). `ready` means nothing more is due up to the clock's time.
A job that failed and waits out its back-off holds the clock where it is (still `advancing`): the
coordinator comes back to it on its next round, never marks the clock ready past it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_shared.ids import new_id
from tenure_shared.internal_http import DependencyUnavailable, InternalClient, quote_id
from tenure_shared.outbox import notify
from tenure_shared.test_clock_sync import ClockCounts, settled
from tenure_subscription import repository
from tenure_subscription.config import SERVICES
from tenure_subscription.errors import InvalidClockTime, TestClockAdvancing
from tenure_subscription.models import TestClock
from tenure_subscription.statuses import TestClockStatus

log = structlog.get_logger()
# The subscription worker's clock loop listens here (tenure_shared.worker extra_loops).
ADVANCE_CHANNEL = "tenure_test_clock_advance"
# The settle check polls every service's counts: soon after a step (a small cascade settles in tens
# of milliseconds), then less and less often. Progress does not bring the fast polls back: a big
# cascade (a thousand renewals) progresses at every poll for a minute, and fast polls through it
# would take the CPU it needs.
SETTLE_POLL_FIRST_SECONDS = 0.02
SETTLE_POLL_MAX_SECONDS = 0.25


async def _push_time(internal: InternalClient, clock_id: str, now: datetime) -> None:
    path = f"/internal/test-clocks/{quote_id(clock_id)}"
    await asyncio.gather(*(internal.request(s, "PUT", path, json={"now": now.isoformat()}) for s in SERVICES))


async def create_test_clock(
    session: AsyncSession, *, frozen_time: datetime, name: str | None, internal: InternalClient
) -> TestClock:
    """Create a clock; every service learns its time before the clock is used."""
    clock = TestClock(
        id=new_id("clock"), name=name, frozen_time=frozen_time, target_time=frozen_time, status=TestClockStatus.READY
    )
    session.add(clock)
    await session.flush()
    await _push_time(internal, clock.id, frozen_time)
    return clock


async def start_advance(session: AsyncSession, *, clock_id: str, frozen_time: datetime) -> TestClock:
    """Ask for the clock to move forward; the subscription worker does the stepping."""
    clock = await repository.get_test_clock(session, clock_id, for_update=True)
    if clock.status == "advancing":
        raise TestClockAdvancing(f"Test clock {clock_id} is still advancing to {clock.target_time.isoformat()}.")
    if frozen_time < clock.frozen_time:
        raise InvalidClockTime("A test clock only moves forward.")
    clock.target_time = frozen_time
    clock.move_to(TestClockStatus.ADVANCING)
    await session.flush()
    await notify(session, ADVANCE_CHANNEL)
    return clock


async def cascade_settled(internal: InternalClient, clock_id: str) -> bool:
    """True when every service has consumed every event produced for this clock."""
    path = f"/internal/test-clocks/{quote_id(clock_id)}/counts"
    answers = await asyncio.gather(*(internal.request(s, "GET", path) for s in SERVICES))
    return settled([ClockCounts.model_validate(a) for a in answers])


async def known_settled(internal: InternalClient, clock_id: str) -> bool:
    """`cascade_settled` for a reader of the clock: a service that cannot answer now (down, or too slow
    under load) leaves the clock `advancing`, as a clock not known to be settled, rather than failing
    the read with a 503; a client waiting for `ready` polls on."""
    try:
        return await cascade_settled(internal, clock_id)
    except DependencyUnavailable as exc:
        log.info("test_clock_settle_unknown", clock_id=clock_id, error=repr(exc))
        return False


async def _wait_settled(internal: InternalClient, clock_id: str) -> None:
    delay = SETTLE_POLL_FIRST_SECONDS
    while not await cascade_settled(internal, clock_id):
        await asyncio.sleep(delay)
        delay = min(delay * 2, SETTLE_POLL_MAX_SECONDS)


async def _run_due(internal: InternalClient, clock_id: str, step: datetime) -> None:
    """Every service runs its jobs due at `step`, all at once, each asked again at once while it still
    has jobs due (a call runs jobs for at most run-due's budget): a thousand renewals run back to
    back while the consumers take the events they produce, rather than a budget's worth per settle
    check. Each runs only its own jobs, and whatever they set off is waited for by the settle check
    after."""
    path = f"/internal/test-clocks/{quote_id(clock_id)}/run-due"

    async def until_done(service: str) -> None:
        while True:
            answer = await internal.request(service, "POST", path, json={"now": step.isoformat()})
            more = answer["next_due_at"] is not None and datetime.fromisoformat(answer["next_due_at"]) <= step
            if not (answer["ran"] and more):  # done, or what is left is another runner's
                return

    await asyncio.gather(*(until_done(s) for s in SERVICES))


async def _earliest_due(internal: InternalClient, clock_id: str) -> tuple[datetime | None, bool]:
    """The earliest due instant of a runnable job on the clock, and whether a job waits out a back-off."""
    path = f"/internal/test-clocks/{quote_id(clock_id)}/next-due"
    answers = await asyncio.gather(*(internal.request(s, "GET", path) for s in SERVICES))
    due = [datetime.fromisoformat(a["next_due_at"]) for a in answers if a["next_due_at"]]
    return (min(due) if due else None), any(a.get("waiting_until") for a in answers)


async def advance_to_target(sessions: async_sessionmaker[AsyncSession], internal: InternalClient, clock_id: str) -> None:
    """Run every due moment up to the clock's target in time order, then mark it ready. Returns
    early, the clock still advancing, while a failed job waits for its next attempt."""
    async with sessions() as session:
        clock = await repository.get_test_clock(session, clock_id)
    target, current = clock.target_time, clock.frozen_time
    await _wait_settled(internal, clock_id)
    while True:
        due, waiting = await _earliest_due(internal, clock_id)
        if waiting and (due is None or due > current):  # time must not move past a job that will be retried
            log.info("test_clock_waiting_for_job_retry", clock_id=clock_id)
            return
        step = max(due, current) if due is not None and due <= target else target
        await _push_time(internal, clock_id, step)
        await _run_due(internal, clock_id, step)
        await _wait_settled(internal, clock_id)
        current = step
        async with sessions() as session, session.begin():
            (await repository.get_test_clock(session, clock_id, for_update=True)).frozen_time = step
        if step == target and (due is None or due > target):
            break
    async with sessions() as session, session.begin():
        clock = await repository.get_test_clock(session, clock_id, for_update=True)
        clock.move_to(TestClockStatus.READY)
    log.info("test_clock_ready", clock_id=clock_id, frozen_time=target.isoformat())


class ClockAdvancer:
    """Advances every pending clock in a task of its own, so a long advance (a year of many
    customers) never holds up another clock: each clock steps and settles on its own counts."""

    def __init__(self, internal: InternalClient):
        self._internal = internal
        self._running: dict[str, asyncio.Task] = {}

    async def advance_pending_clocks(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Worker loop body: start an advance for every clock asked to move (also after a crash)
        that is not advancing here already; returns without waiting for them."""
        async with sessions() as session:
            clock_ids = await repository.advancing_clock_ids(session)
        for clock_id in clock_ids:
            if clock_id not in self._running:
                task = asyncio.create_task(self._advance(sessions, clock_id))
                self._running[clock_id] = task
                task.add_done_callback(partial(self._forget, clock_id))

    def _forget(self, clock_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(clock_id, None)

    async def _advance(self, sessions: async_sessionmaker[AsyncSession], clock_id: str) -> None:
        try:
            await advance_to_target(sessions, self._internal, clock_id)
        except DependencyUnavailable as exc:  # one service away holds this clock, not the others
            log.warning("test_clock_waiting_for_service", clock_id=clock_id, error=repr(exc))
        except Exception as exc:  # the next loop pass starts the clock again
            log.warning("test_clock_advance_failed", clock_id=clock_id, error=repr(exc))
