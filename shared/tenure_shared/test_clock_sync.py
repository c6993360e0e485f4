"""The internal side of test clocks that every service exposes to the clock's coordinator.

- PUT  /internal/test-clocks/{id}            set this service's copy of the clock's time
- POST /internal/test-clocks/{id}/run-due    set the time and run every job due up to it
- GET  /internal/test-clocks/{id}/next-due   the earliest runnable job of the clock, and whether one
                                             is waiting out a back-off
- GET  /internal/test-clocks/{id}/counts     events produced and consumed for the clock, by topic
The coordinator compares the counts of all services to know a cascade has settled.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import func, literal, select, union_all

from tenure_shared.auth import require_internal_token
from tenure_shared.clock import set_clock_time
from tenure_shared.consumer import InboxEvent
from tenure_shared.outbox import OutboxMessage


class ClockTime(BaseModel):
    now: datetime


class ClockCounts(BaseModel):
    produced: dict[str, int]
    consumed: dict[str, int]
    unsent: int
    consumes: list[str]


RUN_DUE_BUDGET_SECONDS = 1.5

router = APIRouter(prefix="/internal/test-clocks", dependencies=[Depends(require_internal_token)], include_in_schema=False)


@router.put("/{clock_id}")
async def put_clock_time(clock_id: str, body: ClockTime, request: Request) -> ClockTime:
    async with request.app.state.session_factory() as session, session.begin():
        await set_clock_time(session, clock_id, body.now)
    return body


@router.post("/{clock_id}/run-due")
async def run_due(clock_id: str, body: ClockTime, request: Request) -> dict:
    """Runs jobs for at most RUN_DUE_BUDGET_SECONDS (the caller's call times out at 5 s); what is
    left shows in `next_due_at`, and the coordinator asks again."""
    await put_clock_time(clock_id, body, request)
    ran = await request.app.state.due_work.run_due(clock_id, body.now, budget_seconds=RUN_DUE_BUDGET_SECONDS)
    return {"ran": ran, **(await next_due(clock_id, request))}


@router.get("/{clock_id}/next-due")
async def next_due(clock_id: str, request: Request) -> dict:
    """`next_due_at`: the earliest job that may run now; `waiting_until`: the earliest real time a
    job that failed may be tried again (the clock must not move on while one waits)."""
    due_work = request.app.state.due_work
    return {"next_due_at": await due_work.next_due_at(clock_id), "waiting_until": await due_work.waiting_until(clock_id)}


@router.get("/{clock_id}/counts")
async def counts(clock_id: str, request: Request) -> ClockCounts:
    """Produced, unsent and consumed counts from ONE statement, so they share one snapshot: with
    separate queries a relay could send (and a consumer take) an event between them, and the
    coordinator would see its effect without its cause and call the cascade settled too early."""
    produced = select(literal("produced"), OutboxMessage.topic, func.count()).where(OutboxMessage.clock_id == clock_id)
    unsent = select(literal("unsent"), literal(""), func.count()).where(
        OutboxMessage.clock_id == clock_id, OutboxMessage.published_at.is_(None)
    )
    consumed = select(literal("consumed"), InboxEvent.topic, func.count()).where(InboxEvent.clock_id == clock_id)
    statement = union_all(produced.group_by(OutboxMessage.topic), unsent, consumed.group_by(InboxEvent.topic))
    found: dict[str, dict[str, int]] = {"produced": {}, "unsent": {}, "consumed": {}}
    async with request.app.state.session_factory() as session:
        for kind, topic, n in (await session.execute(statement)).all():
            found[kind][topic] = n
    return ClockCounts(
        produced=found["produced"],
        consumed=found["consumed"],
        unsent=found["unsent"].get("", 0),
        consumes=list(request.app.state.consumed_topics),
    )


def settled(all_counts: list[ClockCounts]) -> bool:
    """True when no service has unsent events and every consumer has taken every produced event."""
    if any(c.unsent for c in all_counts):
        return False
    produced: dict[str, int] = {}
    for c in all_counts:
        for topic, n in c.produced.items():
            produced[topic] = produced.get(topic, 0) + n
    return all(c.consumed.get(topic, 0) >= produced.get(topic, 0) for c in all_counts for topic in c.consumes)
