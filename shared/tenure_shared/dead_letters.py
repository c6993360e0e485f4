"""Dead letters: events a handler refused deterministically, kept in the inbox with their envelope.

A replay runs where the handlers are, in the worker: the API route only marks the row
`replay_requested` and notifies REPLAY_CHANNEL; the worker's replay loop runs the handler and sets
the outcome to `handled` in ONE transaction with the handler's effect. Replaying an event that is
handled already changes nothing; a replay the handler refuses again goes back to `dead_lettered`
with the new error. `discard` marks a dead letter `discarded` (looked at, nothing to do).
"""

from __future__ import annotations

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_shared.consumer import EventHandler, InboxEvent
from tenure_shared.deferred import run_deferred
from tenure_shared.errors import Conflict, NotFound
from tenure_shared.events import CloudEvent
from tenure_shared.failures import is_transient
from tenure_shared.outbox import notify

log = structlog.get_logger()

REPLAY_CHANNEL = "tenure_dead_letter_replay"


class DeadLetterNotFound(NotFound):
    code = "dead_letter_not_found"


class DeadLetterNotReplayable(Conflict):
    code = "dead_letter_not_replayable"


class DeadLetterAlreadyHandled(Conflict):
    code = "dead_letter_already_handled"


async def list_dead_letters(
    session: AsyncSession, *, event_type: str | None = None, topic: str | None = None, status: str | None = None, limit: int = 100
) -> list[InboxEvent]:
    """Events that were dead-lettered (whatever became of them since), newest first."""
    query = select(InboxEvent).where(InboxEvent.dead_lettered_at.is_not(None))
    if event_type:
        query = query.where(InboxEvent.event_type == event_type)
    if topic:
        query = query.where(InboxEvent.topic == topic)
    if status:
        query = query.where(InboxEvent.outcome == status)
    return list((await session.scalars(query.order_by(InboxEvent.dead_lettered_at.desc()).limit(limit))).all())


async def get_dead_letter(session: AsyncSession, event_id: str, *, for_update: bool = False) -> InboxEvent:
    row = await session.get(InboxEvent, event_id, with_for_update=for_update)
    if row is None or row.dead_lettered_at is None:
        raise DeadLetterNotFound(f"No dead letter with event id {event_id}.")
    return row


async def request_replay(session: AsyncSession, event_id: str) -> InboxEvent:
    """Ask the worker to run the handler again (a handled event stays as it is)."""
    row = await get_dead_letter(session, event_id, for_update=True)
    if row.envelope is None:
        raise DeadLetterNotReplayable(f"Event {event_id} was dead-lettered before envelopes were kept; it cannot be replayed.")
    if row.outcome in ("dead_lettered", "discarded"):
        row.outcome = "replay_requested"
        await session.flush()
        await notify(session, REPLAY_CHANNEL)
    return row


async def discard(session: AsyncSession, event_id: str) -> InboxEvent:
    """Mark a dead letter as looked at, with nothing more to do."""
    row = await get_dead_letter(session, event_id, for_update=True)
    if row.outcome in ("handled", "ignored"):
        raise DeadLetterAlreadyHandled(f"Event {event_id} was replayed and handled; there is nothing to discard.")
    row.outcome = "discarded"
    await session.flush()
    return row


async def run_requested_replays(sessions: async_sessionmaker[AsyncSession], handlers: dict[str, EventHandler]) -> int:
    """Worker loop body: replay every requested dead letter. Returns how many were handled."""
    handled = 0
    while True:
        event_id: str | None = None
        async with sessions() as session:
            try:
                async with session.begin():
                    row = await session.scalar(
                        select(InboxEvent)
                        .where(InboxEvent.outcome == "replay_requested")
                        .order_by(InboxEvent.dead_lettered_at)
                        .limit(1)
                        .with_for_update(skip_locked=True)
                    )
                    if row is None:
                        return handled
                    event_id = row.event_id
                    event = CloudEvent.model_validate(row.envelope)
                    handler = handlers.get(event.type)
                    if handler is not None:
                        await handler(session, event)
                        await run_deferred(session)
                    row.outcome, row.error = ("handled" if handler else "ignored"), None
                handled += 1
                log.info("dead_letter_replayed", event_id=event_id, event_type=event.type)
                continue
            except Exception as exc:
                if is_transient(exc):  # stays requested; the next round tries again
                    log.warning("dead_letter_replay_waiting", error=repr(exc))
                    return handled
                if event_id is None:
                    raise
                failure = exc
        async with sessions() as session, session.begin():
            row = await get_dead_letter(session, event_id, for_update=True)
            row.outcome, row.error = "dead_lettered", repr(failure)
        log.error("dead_letter_replay_refused", event_id=event_id, error=repr(failure))
