"""Due work: future moments (renewals, trial ends, scheduled resumes, dunning retries) kept as rows
in a durable table keyed on their due instant, never as in-memory timers.

Real-time rows (clock_id NULL) are run by the worker's loop; a test clock's rows are run when the
clock's coordinator asks, up to the clock's time, in due order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import BigInteger, DateTime, Identity, Integer, String, Text, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base

log = structlog.get_logger()


class ScheduledJob(Base):
    __tablename__ = "scheduled_jobs"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    # One pending job per key (e.g. "renewal:sub_…"): rescheduling replaces it.
    key: Mapped[str] = mapped_column(String)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String, default="pending")  # pending | done | cancelled | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


JobHandler = Callable[[AsyncSession, ScheduledJob], Awaitable[None]]
MAX_JOB_ATTEMPTS = 5


async def schedule_job(
    session: AsyncSession, *, kind: str, key: str, due_at: datetime, clock_id: str | None, payload: dict[str, Any] | None = None
) -> None:
    """Schedule (or move) the pending job with this key."""
    await cancel_job(session, key=key)
    session.add(ScheduledJob(kind=kind, key=key, due_at=due_at, clock_id=clock_id, payload=payload or {}))
    await session.flush()


async def cancel_job(session: AsyncSession, *, key: str) -> None:
    await session.execute(
        update(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.status == "pending").values(status="cancelled")
    )


async def pending_job(session: AsyncSession, *, key: str) -> ScheduledJob | None:
    return await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.status == "pending"))


def _for_clock(clock_id: str | None):
    return ScheduledJob.clock_id.is_(None) if clock_id is None else ScheduledJob.clock_id == clock_id


class DueWorkRunner:
    """Runs due jobs one at a time, each in its own transaction, in (due_at, id) order."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], handlers: dict[str, JobHandler]):
        self._sessions = session_factory
        self._handlers = handlers

    async def next_due_at(self, clock_id: str | None) -> datetime | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(ScheduledJob.due_at)).where(_for_clock(clock_id), ScheduledJob.status == "pending")
            )

    async def run_due(self, clock_id: str | None, until: datetime) -> int:
        """Run every pending job of this clock due at or before `until`, cascades included."""
        ran = 0
        while await self._run_one(clock_id, until):
            ran += 1
        return ran

    async def _run_one(self, clock_id: str | None, until: datetime) -> bool:
        job_id: int | None = None
        async with self._sessions() as session:
            try:
                async with session.begin():
                    job = await session.scalar(
                        select(ScheduledJob)
                        .where(_for_clock(clock_id), ScheduledJob.status == "pending", ScheduledJob.due_at <= until)
                        .order_by(ScheduledJob.due_at, ScheduledJob.id)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                    if job is None:
                        return False
                    job_id = job.id
                    await self._handlers[job.kind](session, job)
                    job.status = "done"
                return True
            except Exception as exc:
                if job_id is None:
                    raise
                log.exception("due_job_failed", job_id=job_id, error=repr(exc))
                error = repr(exc)
        async with self._sessions() as session, session.begin():
            job = await session.get(ScheduledJob, job_id, with_for_update=True)
            job.attempts += 1
            job.last_error = error
            if job.attempts >= MAX_JOB_ATTEMPTS:
                job.status = "failed"
        return True
