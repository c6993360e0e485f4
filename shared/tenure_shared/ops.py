"""Operator routes every service has: dead letters, due jobs, and an ops summary.

Each route is served twice by the same function: under `/internal` (service token; the CLI) and
under `/v1` (an API key with the `admin` scope; the operations console).

- GET  /internal/dead-letters[?event_type=&topic=&status=]   GET /internal/dead-letters/{event_id}
- POST /internal/dead-letters/{event_id}/replay              POST /internal/dead-letters/{event_id}/discard
- GET  /internal/jobs[?status=&kind=]                        POST /internal/jobs/{job_id}/retry
- GET  /internal/ops   dead letters by status, failed and waiting jobs, outbox lag, consumer lag
The `tenure dead-letters`, `tenure jobs` and `tenure ops` commands talk to the `/internal` ones.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import CompoundSelect, DateTime, Select, and_, cast, func, literal, null, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_shared import dead_letters
from tenure_shared.auth import require_admin, require_internal_token
from tenure_shared.clock import real_now
from tenure_shared.consumer import ConsumerOffset, InboxEvent, PartitionHighWater
from tenure_shared.due_work import ScheduledJob, retry_failed_job
from tenure_shared.errors import Conflict, NotFound
from tenure_shared.openapi import problem_responses
from tenure_shared.outbox import OutboxMessage

router = APIRouter(prefix="/internal", dependencies=[Depends(require_internal_token)], include_in_schema=False)
# Mounted under /v1 by create_app, behind the API-key middleware.
public_router = APIRouter(dependencies=[Depends(require_admin)], tags=["operations"])
ADMIN_ONLY = problem_responses(403)

DeadLetterStatus = Literal["dead_lettered", "replay_requested", "discarded", "handled", "ignored"]
JobStatus = Literal["pending", "done", "cancelled", "failed"]


class DeadLetterOut(BaseModel):
    event_id: str
    topic: str
    event_type: str
    clock_id: str | None
    status: str
    error: str | None
    received_at: datetime
    dead_lettered_at: datetime | None
    envelope: dict[str, Any] | None

    @classmethod
    def of(cls, row: InboxEvent) -> DeadLetterOut:
        return cls(
            event_id=row.event_id,
            topic=row.topic,
            event_type=row.event_type,
            clock_id=row.clock_id,
            status=row.outcome,
            error=row.error,
            received_at=row.received_at,
            dead_lettered_at=row.dead_lettered_at,
            envelope=row.envelope,
        )


class JobOut(BaseModel):
    id: int
    kind: str
    key: str
    due_at: datetime
    clock_id: str | None
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None

    @classmethod
    def of(cls, job: ScheduledJob) -> JobOut:
        return cls(
            id=job.id,
            kind=job.kind,
            key=job.key,
            due_at=job.due_at,
            clock_id=job.clock_id,
            status=job.status,
            attempts=job.attempts,
            last_error=job.last_error,
            next_attempt_at=job.next_attempt_at,
        )


class JobNotFound(NotFound):
    code = "job_not_found"


class JobNotFailed(Conflict):
    code = "job_not_failed"


class JobSuperseded(Conflict):
    code = "job_superseded"


def _sessions(request: Request) -> AsyncSession:
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory
    return factory()


@public_router.get("/dead-letters", responses=ADMIN_ONLY)
@router.get("/dead-letters")
async def list_dead_letters(
    request: Request,
    event_type: str | None = None,
    topic: str | None = None,
    status: DeadLetterStatus | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    async with _sessions(request) as session:
        rows = await dead_letters.list_dead_letters(session, event_type=event_type, topic=topic, status=status, limit=limit)
    return {"data": [DeadLetterOut.of(r) for r in rows]}


@public_router.get("/dead-letters/{event_id}", responses=ADMIN_ONLY)
@router.get("/dead-letters/{event_id}")
async def get_dead_letter(event_id: str, request: Request) -> DeadLetterOut:
    async with _sessions(request) as session:
        return DeadLetterOut.of(await dead_letters.get_dead_letter(session, event_id))


@public_router.post("/dead-letters/{event_id}/replay", status_code=202, responses=problem_responses(409))
@router.post("/dead-letters/{event_id}/replay", status_code=202)
async def replay_dead_letter(event_id: str, request: Request) -> DeadLetterOut:
    """Accepted: the worker runs the handler; the row's status says how it went."""
    async with _sessions(request) as session, session.begin():
        return DeadLetterOut.of(await dead_letters.request_replay(session, event_id))


@public_router.post("/dead-letters/{event_id}/discard", responses=problem_responses(409))
@router.post("/dead-letters/{event_id}/discard")
async def discard_dead_letter(event_id: str, request: Request) -> DeadLetterOut:
    async with _sessions(request) as session, session.begin():
        return DeadLetterOut.of(await dead_letters.discard(session, event_id))


@public_router.get("/jobs", responses=ADMIN_ONLY)
@router.get("/jobs")
async def list_jobs(
    request: Request, status: JobStatus | None = None, kind: str | None = None, limit: int = Query(100, ge=1, le=1000)
) -> dict[str, Any]:
    query = select(ScheduledJob)
    if status:
        query = query.where(ScheduledJob.status == status)
    if kind:
        query = query.where(ScheduledJob.kind == kind)
    async with _sessions(request) as session:
        jobs = (await session.scalars(query.order_by(ScheduledJob.due_at, ScheduledJob.id).limit(limit))).all()
    return {"data": [JobOut.of(j) for j in jobs]}


@public_router.post("/jobs/{job_id}/retry", responses=problem_responses(409))
@router.post("/jobs/{job_id}/retry")
async def retry_job(request: Request, job_id: int = Path(ge=1, le=2**63 - 1)) -> JobOut:
    """A failed job back to pending, to run at the next pass (real time) or clock step."""
    try:
        async with _sessions(request) as session, session.begin():
            job = await retry_failed_job(session, job_id)
            if job is None:
                raise JobNotFound(f"No job {job_id}.")
            if job.status != "pending":
                raise JobNotFailed(f"Job {job_id} is {job.status}, not failed.")
            return JobOut.of(job)
    except IntegrityError as exc:  # the one-pending-job-per-key index
        raise JobSuperseded(f"Job {job_id}'s key has a newer pending job; that one will run instead.") from exc


@public_router.get("/ops", responses=ADMIN_ONLY)
@router.get("/ops")
async def ops_view(request: Request) -> dict[str, Any]:
    """Where work is stuck or late, from this service's own tables in one statement."""
    now = real_now()
    no_time = cast(null(), DateTime(timezone=True))
    # count(*) gives an int; the consumer lag's sum(bigint) a Decimal (PostgreSQL's numeric).
    counts: CompoundSelect[str, str, int | Decimal, datetime | None] = union_all(
        select(literal("dead_letters"), InboxEvent.outcome, func.count(), no_time)
        .where(InboxEvent.dead_lettered_at.is_not(None))
        .group_by(InboxEvent.outcome),
        select(literal("jobs"), ScheduledJob.status, func.count(), no_time)
        .where(ScheduledJob.status.in_(("pending", "failed")))
        .group_by(ScheduledJob.status),
        select(literal("jobs"), literal("waiting"), func.count(), func.min(ScheduledJob.next_attempt_at)).where(
            ScheduledJob.status == "pending", ScheduledJob.next_attempt_at > now
        ),
        select(literal("outbox"), literal("unsent"), func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.published_at.is_(None)
        ),
        consumer_lag_by_topic(),
    )
    found: dict[str, dict[str, int]] = {
        "dead_letters": {},
        "jobs": {"pending": 0, "failed": 0, "waiting": 0},
        "outbox": {},
        "consumer_lag": {},
    }
    earliest: dict[str, datetime | None] = {}
    async with _sessions(request) as session:
        for group, name, n, when in (await session.execute(counts)).all():
            found[group][name] = int(n)
            earliest[name] = when
    oldest_unsent = earliest.get("unsent")
    return {
        "service": request.app.state.settings.service_name,
        "dead_letters": found["dead_letters"],
        "jobs": found["jobs"] | {"next_retry_at": earliest.get("waiting")},
        "outbox": {
            "unsent": found["outbox"].get("unsent", 0),
            "oldest_unsent_age_seconds": round((now - oldest_unsent).total_seconds(), 3) if oldest_unsent else None,
        },
        # Per consumed topic: records not yet consumed (high-water marks from fetch responses,
        # written by the workers every few seconds, minus the stored offsets).
        "consumer_lag": found["consumer_lag"],
    }


def consumer_lag_by_topic() -> Select[str, str, int, datetime]:
    """(`consumer_lag`, topic, records behind, oldest high-water sighting) per topic."""
    offsets = ConsumerOffset
    behind = func.greatest(PartitionHighWater.high_water - func.coalesce(offsets.next_offset, 0), 0)
    return (
        select(literal("consumer_lag"), PartitionHighWater.topic, func.sum(behind), func.min(PartitionHighWater.seen_at))
        .select_from(PartitionHighWater)
        .outerjoin(offsets, and_(offsets.topic == PartitionHighWater.topic, offsets.partition == PartitionHighWater.partition))
        .group_by(PartitionHighWater.topic)
    )
