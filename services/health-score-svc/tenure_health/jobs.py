"""health-score-svc's due work: the debounced recompute of one customer; the daily recompute of a
clock, which splits into slices that all workers share."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_health import service
from tenure_shared.due_work import JobHandler, ScheduledJob


async def run_recompute(session: AsyncSession, job: ScheduledJob) -> None:
    await service.recompute(session, customer_id=job.payload["customer_id"], at=job.due_at)


async def run_daily(session: AsyncSession, job: ScheduledJob) -> None:
    await service.start_daily(session, clock_id=job.clock_id, at=job.due_at)


async def run_daily_slice(session: AsyncSession, job: ScheduledJob) -> None:
    await service.recompute_slice(
        session, clock_id=job.clock_id, at=job.due_at, after=job.payload["after"], through=job.payload["through"]
    )


JOB_HANDLERS: dict[str, JobHandler] = {
    service.RECOMPUTE: run_recompute,
    service.DAILY: run_daily,
    service.DAILY_SLICE: run_daily_slice,
}
