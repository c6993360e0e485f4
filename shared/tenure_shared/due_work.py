"""Due work: future moments (renewals, trial ends, scheduled resumes, dunning retries) kept as rows
in a durable table keyed on their due instant, never as in-memory timers.

Real-time rows (clock_id NULL) are run by every worker's loop; a test clock's rows are run when the
clock's coordinator asks, up to the clock's time, in due order.

Many runners share the work: each claims a batch of candidates (`FOR UPDATE SKIP LOCKED`, so a job
another runner is running is passed over), only the earliest runnable job of each *order group*
(the subscription, customer or case the job is about, `order_group`), and runs them under a
transaction-level advisory lock on each one's group. One subscription's jobs therefore run one after
another in due order, while different subscriptions' jobs run on all workers at once.

A job whose handler calls no peer service (`BatchableJob`: a renewal, not a dunning retry that asks
invoicing to collect) runs with the other batchable candidates of its claim in one transaction: a
thousand renewals due at one instant cost ten transactions, not a thousand. If anything in such a
batch fails, it rolls back whole and its jobs run one per transaction, so a failure is recorded
against its own job only. Any other job runs in a transaction of its own, holding no other job's
locks while it waits for a peer.

A failed attempt sets `next_attempt_at` (10 s, 30 s, 1 min … 1 h of real time, `job_retry_delay`)
and no pass picks the job before then. A transient failure (a peer or the database away) keeps the
job pending for as long as it takes; a deterministic one is parked as `failed` after
MAX_JOB_ATTEMPTS, to be looked at and retried (`/internal/jobs`, `tenure jobs`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Identity,
    Index,
    Integer,
    String,
    Text,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.clock import real_now
from tenure_shared.db import Base
from tenure_shared.deferred import run_deferred
from tenure_shared.failures import is_transient, job_retry_delay
from tenure_shared.outbox import notify

log = structlog.get_logger()


class ScheduledJob(Base):
    __tablename__ = "scheduled_jobs"
    __table_args__ = (
        Index("uq_scheduled_jobs_pending_key", "key", unique=True, postgresql_where=text("status = 'pending'")),
        Index("ix_scheduled_jobs_status", "status", "due_at"),
    )

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
    # Real time before which no pass tries the job again (set by a failed attempt).
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


JobHandler = Callable[[AsyncSession, ScheduledJob], Awaitable[None]]


@dataclass(frozen=True)
class BatchableJob:
    """A job handler that calls no peer service, so its job may share a transaction (and the locks
    it takes) with other jobs of a batch; wrap it in JOB_HANDLERS: `{RENEWAL: BatchableJob(run_renewal)}`."""

    handler: JobHandler

    async def __call__(self, session: AsyncSession, job: ScheduledJob) -> None:
        await self.handler(session, job)


MAX_JOB_ATTEMPTS = 5
# Notified when a real-time job is scheduled due now (the workers LISTEN on it).
DUE_WORK_CHANNEL = "tenure_due_work"
CLAIM_BATCH = 100
# Jobs about the same subscription (else customer, else dunning case, else the job's own key) run
# in due order, one at a time: the payload names what a job is about.
ORDER_GROUP = func.coalesce(
    ScheduledJob.payload["subscription_id"].astext,
    ScheduledJob.payload["customer_id"].astext,
    ScheduledJob.payload["case_id"].astext,
    ScheduledJob.key,
)
# Takes the advisory lock of each order group it can, in one statement; answers the groups it took.
_LOCK_GROUPS = text(
    "SELECT g FROM unnest(CAST(:groups AS text[])) AS g WHERE pg_try_advisory_xact_lock(hashtext('tenure-job:' || g))"
)


async def schedule_job(
    session: AsyncSession, *, kind: str, key: str, due_at: datetime, clock_id: str | None, payload: dict[str, Any] | None = None
) -> None:
    """Schedule (or move) the pending job with this key."""
    await cancel_job(session, key=key)
    session.add(ScheduledJob(kind=kind, key=key, due_at=due_at, clock_id=clock_id, payload=payload or {}))
    await session.flush()
    if clock_id is None and due_at <= real_now():
        # Due now: the workers' due-work loop runs it once this commits, not at its next poll.
        await notify(session, DUE_WORK_CHANNEL)


async def cancel_job(session: AsyncSession, *, key: str) -> None:
    await session.execute(
        update(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.status == "pending").values(status="cancelled")
    )


async def pending_job(session: AsyncSession, *, key: str) -> ScheduledJob | None:
    """The pending job with this key, if any (e.g. to debounce: schedule only when none waits)."""
    return await session.scalar(select(ScheduledJob).where(ScheduledJob.key == key, ScheduledJob.status == "pending"))


def _for_clock(clock_id: str | None) -> ColumnElement[bool]:
    return ScheduledJob.clock_id.is_(None) if clock_id is None else ScheduledJob.clock_id == clock_id


def _runnable() -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """Pending and not waiting out a back-off."""
    not_waiting = or_(ScheduledJob.next_attempt_at.is_(None), ScheduledJob.next_attempt_at <= real_now())
    return ScheduledJob.status == "pending", not_waiting


class DueWorkRunner:
    """Runs due jobs in (due_at, id) order per order group, each in its own transaction; several
    runners (one per worker, and the API's for test clocks) share the work."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession], handlers: dict[str, JobHandler]):
        self._sessions = session_factory
        self._handlers = handlers

    async def next_due_at(self, clock_id: str | None) -> datetime | None:
        """The earliest due instant of a job that may run now."""
        async with self._sessions() as session:
            return await session.scalar(select(func.min(ScheduledJob.due_at)).where(_for_clock(clock_id), *_runnable()))

    async def waiting_until(self, clock_id: str | None) -> datetime | None:
        """The earliest real time at which a job waiting out its back-off may be tried again."""
        async with self._sessions() as session:
            return await session.scalar(
                select(func.min(ScheduledJob.next_attempt_at)).where(
                    _for_clock(clock_id), ScheduledJob.status == "pending", ScheduledJob.next_attempt_at > real_now()
                )
            )

    async def run_due(self, clock_id: str | None, until: datetime, *, budget_seconds: float | None = None) -> int:
        """Run every runnable job of this clock due at or before `until`, cascades included; with a
        budget, start no new job once it is spent (the caller asks again). Jobs another runner is
        running are left to it."""
        deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
        ran = 0
        while deadline is None or time.monotonic() < deadline:
            claimed = await self._claim(clock_id, until)
            if not claimed:
                break
            batch = [job_id for job_id, kind in claimed if isinstance(self._handlers.get(kind), BatchableJob)]
            one_by_one = [job_id for job_id, _ in claimed if job_id not in batch]
            progressed = False
            if batch:
                batch_ran = await self._run_batch(batch, clock_id, until, deadline)
                if batch_ran is None:  # rolled back whole: each of its jobs on its own, failures recorded
                    one_by_one = [job_id for job_id, _ in claimed]
                else:
                    ran += batch_ran
                    progressed = batch_ran > 0
            for job_id in one_by_one:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if await self._run_one(job_id, clock_id, until):
                    ran += 1
                    progressed = True
            if not progressed:
                break  # every candidate is another runner's now
        return ran

    async def _claim(self, clock_id: str | None, until: datetime) -> list[tuple[int, str]]:
        """Candidates: the earliest runnable job of each order group, skipping jobs being run."""
        first_of_group = (
            select(
                ScheduledJob.id,
                func.row_number().over(partition_by=ORDER_GROUP, order_by=(ScheduledJob.due_at, ScheduledJob.id)).label("n"),
            )
            .where(_for_clock(clock_id), *_runnable(), ScheduledJob.due_at <= until)
            .subquery()
        )
        async with self._sessions() as session, session.begin():
            claimed = await session.execute(
                select(ScheduledJob.id, ScheduledJob.kind)
                .where(ScheduledJob.id.in_(select(first_of_group.c.id).where(first_of_group.c.n == 1)), *_runnable())
                .order_by(ScheduledJob.due_at, ScheduledJob.id)
                .limit(CLAIM_BATCH)
                .with_for_update(skip_locked=True)
            )
            return [(job_id, kind) for job_id, kind in claimed.all()]

    async def _run_batch(self, job_ids: list[int], clock_id: str | None, until: datetime, deadline: float | None) -> int | None:
        """Run claimed jobs of batchable kinds in one transaction, in due order, passing over those
        whose group another runner holds or has an earlier job now (as `_run_one` does, a statement
        for the whole batch at each step); once the deadline has passed, the rest is left for the
        next pass (a busy machine must not stretch run-due past its caller's timeout). How many
        ran; None when the batch failed and rolled back."""
        try:
            async with self._sessions() as session, session.begin():
                found = (
                    await session.execute(
                        select(ScheduledJob, ORDER_GROUP)
                        .where(ScheduledJob.id.in_(job_ids), *_runnable(), ScheduledJob.due_at <= until)
                        .order_by(ScheduledJob.due_at, ScheduledJob.id)
                        .with_for_update(skip_locked=True, of=ScheduledJob)
                    )
                ).all()
                if not found:
                    return 0
                locked = set(await session.scalars(_LOCK_GROUPS, {"groups": [group for _, group in found]}))
                first = await self._first_of_groups(session, locked, clock_id)
                jobs: list[ScheduledJob] = []
                for job, group in found:
                    if deadline is not None and time.monotonic() >= deadline and jobs:
                        break
                    if group not in locked or job.id not in first:
                        continue
                    jobs.append(job)
                    await self._handlers[job.kind](session, job)
                    # Each handler sees the database, not objects an earlier job's handler left in the session.
                    await session.flush()
                    session.expunge_all()
                await run_deferred(session)
                if jobs:
                    done = update(ScheduledJob).where(ScheduledJob.id.in_([job.id for job in jobs]))
                    await session.execute(
                        done.values(status="done", next_attempt_at=None).execution_options(synchronize_session=False)
                    )
            return len(jobs)
        except Exception as exc:
            log.warning("due_job_batch_failed", jobs=len(job_ids), error=repr(exc))
            return None

    @staticmethod
    async def _first_of_groups(session: AsyncSession, groups: set[str], clock_id: str | None) -> set[int]:
        """The earliest runnable job of each of these order groups."""
        if not groups:
            return set()
        ranked = (
            select(
                ScheduledJob.id,
                func.row_number().over(partition_by=ORDER_GROUP, order_by=(ScheduledJob.due_at, ScheduledJob.id)).label("n"),
            )
            .where(_for_clock(clock_id), *_runnable(), ORDER_GROUP.in_(groups))
            .subquery()
        )
        return set(await session.scalars(select(ranked.c.id).where(ranked.c.n == 1)))

    async def _run_one(self, job_id: int, clock_id: str | None, until: datetime) -> bool:
        """Run one claimed job unless another runner got to its group first. True when it ran (or failed)."""
        started = False
        async with self._sessions() as session:
            try:
                async with session.begin():
                    found = (
                        await session.execute(
                            select(ScheduledJob, ORDER_GROUP)
                            .where(ScheduledJob.id == job_id, *_runnable(), ScheduledJob.due_at <= until)
                            .with_for_update(skip_locked=True, of=ScheduledJob)
                        )
                    ).first()
                    if found is None:
                        return False
                    job, group = found
                    if not await session.scalar(select(func.pg_try_advisory_xact_lock(func.hashtext(f"tenure-job:{group}")))):
                        return False  # another runner is running this group's job
                    if await self._earlier_in_group(session, job, group, clock_id):
                        return False  # an earlier job of the group came due meanwhile: it goes first
                    started = True
                    await self._handlers[job.kind](session, job)
                    await run_deferred(session)
                    job.status = "done"
                    job.next_attempt_at = None
                return True
            except Exception as exc:
                if not started:
                    raise
                failure = exc
        await self._record_failure(job_id, failure)
        return True

    @staticmethod
    async def _earlier_in_group(session: AsyncSession, job: ScheduledJob, group: str, clock_id: str | None) -> bool:
        earlier = select(ScheduledJob.id).where(
            _for_clock(clock_id),
            *_runnable(),
            ORDER_GROUP == group,
            or_(ScheduledJob.due_at < job.due_at, (ScheduledJob.due_at == job.due_at) & (ScheduledJob.id < job.id)),
        )
        return await session.scalar(earlier.limit(1)) is not None

    async def _record_failure(self, job_id: int, exc: Exception) -> None:
        transient = is_transient(exc)
        async with self._sessions() as session, session.begin():
            job = await session.get(ScheduledJob, job_id, with_for_update=True)
            # The job was claimed from this table a moment ago and rows are never deleted.
            assert job is not None
            job.attempts += 1
            job.last_error = repr(exc)
            if transient or job.attempts < MAX_JOB_ATTEMPTS:
                job.next_attempt_at = real_now() + job_retry_delay(job.attempts)
            else:
                job.status = "failed"
                job.next_attempt_at = None
        log.warning(
            "due_job_failed",
            job_id=job_id,
            kind=job.kind,
            attempts=job.attempts,
            transient=transient,
            status=job.status,
            next_attempt_at=job.next_attempt_at and job.next_attempt_at.isoformat(),
            error=repr(exc),
        )


async def retry_failed_job(session: AsyncSession, job_id: int) -> ScheduledJob | None:
    """Put a failed job back to pending, to run at the next pass. None when no such failed job."""
    job = await session.get(ScheduledJob, job_id, with_for_update=True)
    if job is None or job.status != "failed":
        return job
    job.status = "pending"
    job.attempts = 0
    job.next_attempt_at = None
    await session.flush()
    return job
