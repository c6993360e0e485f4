"""The daily recompute of a clock, split into slices that several workers share, in chunks, with the
same results as one customer at a time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from tenure_health import bench, service
from tenure_health.jobs import JOB_HANDLERS
from tenure_health.models import HealthCustomer, HealthScore
from tenure_shared.due_work import DueWorkRunner, ScheduledJob, schedule_job
from tenure_shared.outbox import OutboxMessage


async def _run_daily(sessions, clock: str, at) -> None:
    """The clock's daily job due at `at` (scheduled), run to the end by two runners at once, as two workers would."""
    runners = [DueWorkRunner(sessions, JOB_HANDLERS) for _ in range(2)]
    while (due := await runners[0].next_due_at(clock)) is not None and due <= at:
        await asyncio.gather(*(runner.run_due(clock, at) for runner in runners))


async def test_the_sliced_daily_recompute_scores_as_one_customer_at_a_time(mechanism_db, monkeypatch):
    """Two clocks seeded alike (bench.seed_clock's generator is seeded): one recomputed by the daily
    job in slices of 13 customers (the last one partial) and chunks of 7, two runners sharing the
    slices; the other one customer at a time. Two days, so the second announces what changed.
    Scores, factors, history and events must match customer for customer."""
    _, sessions = mechanism_db
    monkeypatch.setattr(service, "RECOMPUTE_CHUNK", 7)
    monkeypatch.setattr(service, "DAILY_SLICE_CUSTOMERS", 13)
    chunked, single = await bench.seed_clock(sessions, 40), await bench.seed_clock(sessions, 40)
    async with sessions() as session:
        singles = list(
            await session.scalars(select(HealthCustomer.id).where(HealthCustomer.clock_id == single).order_by(HealthCustomer.id))
        )
    async with sessions() as session, session.begin():  # each day's job schedules the next day's
        await schedule_job(
            session, kind=service.DAILY, key=service.daily_key(chunked), due_at=bench.NOW - timedelta(days=1), clock_id=chunked
        )
    for at in (bench.NOW - timedelta(days=1), bench.NOW):
        await _run_daily(sessions, chunked, at)
        for customer_id in singles:
            async with sessions() as session, session.begin():
                await service.recompute(session, customer_id=customer_id, at=at)
    async with sessions() as session:
        slices = list(
            await session.scalars(
                select(ScheduledJob.payload)
                .where(
                    ScheduledJob.clock_id == chunked, ScheduledJob.kind == service.DAILY_SLICE, ScheduledJob.due_at == bench.NOW
                )
                .order_by(ScheduledJob.id)
            )
        )
        jobs = (
            await session.execute(
                select(ScheduledJob.kind, ScheduledJob.status, ScheduledJob.due_at).where(ScheduledJob.clock_id == chunked)
            )
        ).all()
    assert [(s["after"] is None, s["through"] is None) for s in slices] == [
        (True, False),
        (False, False),
        (False, False),
        (False, True),
    ]
    assert sorted((kind, status) for kind, status, _ in jobs) == [
        *[(service.DAILY, "done")] * 2,
        (service.DAILY, "pending"),
        *[(service.DAILY_SLICE, "done")] * 8,
    ]
    assert [due for kind, status, due in jobs if status == "pending"] == [bench.NOW + timedelta(days=1)]

    async def dump(clock: str) -> dict[str, list]:
        async with sessions() as session:
            customers = await session.execute(
                select(
                    HealthCustomer.id,
                    HealthCustomer.score,
                    HealthCustomer.status,
                    HealthCustomer.stage,
                    HealthCustomer.profile,
                    HealthCustomer.factors,
                    HealthCustomer.first_value_at,
                    HealthCustomer.risk_episode_open,
                    HealthCustomer.computed_at,
                )
                .where(HealthCustomer.clock_id == clock)
                .order_by(HealthCustomer.id)
            )
            history = await session.execute(
                select(
                    HealthScore.customer_id, HealthScore.computed_at, HealthScore.score, HealthScore.stage, HealthScore.factors
                )
                .join(HealthCustomer, HealthCustomer.id == HealthScore.customer_id)
                .where(HealthCustomer.clock_id == clock)
                .order_by(HealthScore.customer_id, HealthScore.computed_at)
            )
            events = await session.execute(
                select(OutboxMessage.key, OutboxMessage.event_type, OutboxMessage.envelope["data"])
                .where(OutboxMessage.clock_id == clock)
                .order_by(OutboxMessage.id)
            )
            # Customer ids differ by their clock's suffix only: compare without them.
            return {
                "customers": [list(row[1:]) for row in customers],
                "history": [list(row[1:]) for row in history],
                "events": [(row[0][-7:], row[1], {k: v for k, v in row[2].items() if k != "customer_id"}) for row in events],
            }

    got, expected = await dump(chunked), await dump(single)
    assert len(got["customers"]) == 40 and len(got["history"]) == 80
    assert got == expected


async def test_a_customer_added_after_the_daily_job_split_is_scored_by_its_slice(mechanism_db, monkeypatch):
    """The slices cover id ranges, the last one open-ended: a customer that arrives between the
    split and the slices' run is scored, wherever its id falls."""
    _, sessions = mechanism_db
    monkeypatch.setattr(service, "DAILY_SLICE_CUSTOMERS", 4)
    clock = await bench.seed_clock(sessions, 10)
    async with sessions() as session, session.begin():
        await service.start_daily(session, clock_id=clock, at=bench.NOW)
        ids = list(await session.scalars(select(HealthCustomer.id).where(HealthCustomer.clock_id == clock)))
        # Ids sorting first, between the slices' ends and last.
        for new_id in ("cus_a", ids[5] + "x", "cus_zzz"):
            session.add(HealthCustomer(id=new_id, clock_id=clock, started_at=bench.NOW - timedelta(days=3), version=0))
    await DueWorkRunner(sessions, JOB_HANDLERS).run_due(clock, bench.NOW)
    async with sessions() as session:
        computed = await session.execute(select(HealthCustomer.computed_at).where(HealthCustomer.clock_id == clock))
        times = list(computed.scalars())
    assert len(times) == 13 and set(times) == {bench.NOW}
