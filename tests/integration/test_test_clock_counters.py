"""The per-clock counters behind the settle check, kept by triggers on the outbox and the inbox, on
real PostgreSQL and the real broker: they move with the rows they count, in the same transaction,
and never count a duplicate."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from tenure_shared.consumer import InboxEvent
from tenure_shared.outbox import OutboxRelay, republish_cutoff
from tenure_shared.test_clock_sync import CONSUMED, PRODUCED, SENT, ClockEventCountDelta, read_clock_counts

from .things import add_customer_update, producer, queue_customer_updates


async def _claim(sessions, topic: str, clock_id: str, event_ids: list[str]) -> None:
    """What the consumer's claim writes: inbox rows, a repeated event id written once."""
    rows = [
        {"event_id": e, "topic": topic, "event_type": "thing.happened", "clock_id": clock_id, "outcome": "handled"}
        for e in event_ids
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(InboxEvent).values(rows).on_conflict_do_nothing(index_elements=[InboxEvent.event_id]))


async def _counts(sessions, clock_id: str) -> dict[str, dict[str, int]]:
    async with sessions() as session, session.begin():
        return await read_clock_counts(session, clock_id)


async def test_counts_follow_outbox_relay_and_inbox(mechanism_db, stack, topic):
    _, sessions = mechanism_db
    mine = await queue_customer_updates(sessions, topic, 3, clock_id="clk_a")
    await queue_customer_updates(sessions, topic, 1, clock_id="clk_b")
    await queue_customer_updates(sessions, topic, 2)
    async with sessions() as session:
        async with session.begin():
            await add_customer_update(session, topic, clock_id="clk_a")
            await session.rollback()  # a rolled-back event was never produced

    assert await _counts(sessions, "clk_a") == {PRODUCED: {topic: 3}}
    assert await _counts(sessions, "clk_b") == {PRODUCED: {topic: 1}}

    async with producer(stack.kafka_bootstrap) as sender:
        relay = OutboxRelay(sessions, sender)
        assert await relay.relay_once() == 6
    assert await _counts(sessions, "clk_a") == {PRODUCED: {topic: 3}, SENT: {topic: 3}}

    await _claim(sessions, topic, "clk_a", mine[:2])
    await _claim(sessions, topic, "clk_a", [mine[1], mine[2], mine[2]])  # redelivered, and twice in one batch
    assert await _counts(sessions, "clk_a") == {PRODUCED: {topic: 3}, SENT: {topic: 3}, CONSUMED: {topic: 3}}

    assert await relay.republish_since(republish_cutoff(1)) == 6  # the broker lost them: unsent again
    assert await _counts(sessions, "clk_a") == {PRODUCED: {topic: 3}, SENT: {topic: 0}, CONSUMED: {topic: 3}}

    # Read after read, the deltas are folded into the totals and the answer stays the same.
    async with sessions() as session:
        pending = await session.scalar(select(func.count()).select_from(ClockEventCountDelta))
    assert pending == 2  # clk_b's, not read since its relay (+1 sent) and the republish (-1)
    assert await _counts(sessions, "clk_b") == {PRODUCED: {topic: 1}, SENT: {topic: 0}}


async def test_concurrent_writers_of_one_clock_never_wait_on_each_other(mechanism_db, topic):
    """Counting happens by inserting deltas, not by updating a shared row: a transaction that wrote
    the clock's events and stays open holds up neither another writer nor the reader."""
    _, sessions = mechanism_db
    async with sessions() as open_session, open_session.begin():
        await add_customer_update(open_session, topic, clock_id="clk_a")
        await asyncio.wait_for(queue_customer_updates(sessions, topic, 1, clock_id="clk_a"), timeout=5)
        assert await asyncio.wait_for(_counts(sessions, "clk_a"), timeout=5) == {PRODUCED: {topic: 1}}
    assert await _counts(sessions, "clk_a") == {PRODUCED: {topic: 2}}
