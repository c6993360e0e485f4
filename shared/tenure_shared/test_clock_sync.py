"""The internal side of test clocks that every service exposes to the clock's coordinator.

- PUT  /internal/test-clocks/{id}            set this service's copy of the clock's time
- POST /internal/test-clocks/{id}/run-due    set the time and run every job due up to it
- GET  /internal/test-clocks/{id}/next-due   the earliest runnable job of the clock, and whether one
                                             is waiting out a back-off
- GET  /internal/test-clocks/{id}/counts     events produced and consumed for the clock, by topic
The coordinator compares the counts of all services to know a cascade has settled.

The counts are counters, not count(*) over the clock's outbox and inbox rows (whose cost grew with
the clock's history, polled many times a second while a clock advances). Triggers on
`outbox_messages` and `inbox_events` (`tenure_shared.migrations.add_test_clock_counters`) add a
delta row per statement and clock/topic in the transaction that writes the rows, so a count moves
exactly when its rows commit, and nothing written by other code (the consumer's claim, the relay,
a replay) can forget it. Deltas are inserts only, so concurrent writers never wait on a counter
row; a read folds the clock's deltas into its totals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel
from sqlalchemy import BigInteger, Identity, String, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.auth import require_internal_token
from tenure_shared.clock import set_clock_time
from tenure_shared.db import Base

# Kinds of count: outbox rows written and marked sent, inbox rows written (handled, ignored or dead-lettered).
PRODUCED, SENT, CONSUMED = "produced", "sent", "consumed"


class ClockEventCount(Base):
    """A clock's running total of one kind of count on one topic in this service (deltas folded in)."""

    __tablename__ = "test_clock_event_counts"

    clock_id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String, primary_key=True)
    topic: Mapped[str] = mapped_column(String, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class ClockEventCountDelta(Base):
    """What one statement added to (or, republishing, took from) a count; written by the triggers only."""

    __tablename__ = "test_clock_count_deltas"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    clock_id: Mapped[str] = mapped_column(String, index=True)
    kind: Mapped[str] = mapped_column(String)
    topic: Mapped[str] = mapped_column(String)
    n: Mapped[int] = mapped_column(BigInteger)


# One statement, so totals and deltas are read in one snapshot, and a delta is counted either as
# folded or as still pending, never both nor neither.
_FOLD_AND_READ = text(
    "WITH folded AS (DELETE FROM test_clock_count_deltas WHERE clock_id = :clock_id RETURNING kind, topic, n),"
    " moved AS (SELECT kind, topic, sum(n) AS n FROM folded GROUP BY kind, topic),"
    " kept AS (INSERT INTO test_clock_event_counts AS c (clock_id, kind, topic, n)"
    "   SELECT :clock_id, kind, topic, n FROM moved"
    "   ON CONFLICT (clock_id, kind, topic) DO UPDATE SET n = c.n + excluded.n)"
    " SELECT kind, topic, sum(n) FROM ("
    "   SELECT kind, topic, n FROM test_clock_event_counts WHERE clock_id = :clock_id"
    "   UNION ALL SELECT kind, topic, n FROM moved) AS counted"
    " GROUP BY kind, topic"
)


async def read_clock_counts(session: AsyncSession, clock_id: str) -> dict[str, dict[str, int]]:
    """kind -> topic -> count for the clock, as of one snapshot; folds the pending deltas into the
    totals (the caller commits). Two readers of one clock take turns: the second must see the
    totals the first folded, which its statement's snapshot would miss if it started before the
    first committed."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('tenure_clock_counts:' || :clock_id, 0))"), {"clock_id": clock_id}
    )
    found: dict[str, dict[str, int]] = {}
    for kind, topic, n in (await session.execute(_FOLD_AND_READ, {"clock_id": clock_id})).all():
        found.setdefault(kind, {})[topic] = int(n)
    return found


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
async def run_due(clock_id: str, body: ClockTime, request: Request) -> dict[str, Any]:
    """Runs jobs for at most RUN_DUE_BUDGET_SECONDS (the caller's call times out at 5 s); what is
    left shows in `next_due_at`, and the coordinator asks again."""
    await put_clock_time(clock_id, body, request)
    ran = await request.app.state.due_work.run_due(clock_id, body.now, budget_seconds=RUN_DUE_BUDGET_SECONDS)
    return {"ran": ran, **(await next_due(clock_id, request))}


@router.get("/{clock_id}/next-due")
async def next_due(clock_id: str, request: Request) -> dict[str, Any]:
    """`next_due_at`: the earliest job that may run now; `waiting_until`: the earliest real time a
    job that failed may be tried again (the clock must not move on while one waits)."""
    due_work = request.app.state.due_work
    return {"next_due_at": await due_work.next_due_at(clock_id), "waiting_until": await due_work.waiting_until(clock_id)}


@router.get("/{clock_id}/counts")
async def counts(clock_id: str, request: Request) -> ClockCounts:
    """The clock's produced, sent and consumed counts, read from its counter rows (a few per topic,
    however long the clock's history)."""
    async with request.app.state.session_factory() as session, session.begin():
        found = await read_clock_counts(session, clock_id)
    produced = found.get(PRODUCED, {})
    return ClockCounts(
        produced=produced,
        consumed=found.get(CONSUMED, {}),
        unsent=sum(produced.values()) - sum(found.get(SENT, {}).values()),
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
