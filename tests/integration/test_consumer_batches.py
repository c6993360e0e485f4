"""The consumer handles a partition's fetched records as one batch per transaction, on real
PostgreSQL and the real broker: one fence, one inbox statement, the handlers in order, one offset.
A batch that fails is rolled back and its records are handled one per transaction, so a poison
event is dead-lettered alone and the events around it take effect exactly once."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from sqlalchemy import func, select, text

from tenure_shared.consumer import ConsumerOffset, InboxEvent
from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import DependencyUnavailable
from tenure_shared.leases import PARTITION, LeaseKeeper, partition_resource
from tenure_shared.outbox import OutboxMessage

from .things import consume, send_as_one_batch, thing, thing_consumer


@pytest.fixture
async def effects(mechanism_db):
    """A table of effects: which event, in which transaction, in which order."""
    _, sessions = mechanism_db
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE effects (seq serial, event_id text, txid bigint)"))

    async def rows() -> list[tuple[str, int]]:
        async with sessions() as session:
            return [tuple(r) for r in (await session.execute(text("SELECT event_id, txid FROM effects ORDER BY seq"))).all()]

    return rows


async def _record(session, event: CloudEvent) -> None:
    await session.execute(text("INSERT INTO effects (event_id, txid) VALUES (:id, txid_current())"), {"id": event.id})


async def _consume(stack, sessions, topic: str, handler, *, offsets: int) -> None:
    """Run a consumer until partition 0's stored offset reaches `offsets`."""
    consumer = thing_consumer(stack.kafka_bootstrap, sessions, topic, handler, max_attempts=3)
    await consume(consumer, sessions, topic, offsets=offsets, partition=0)


async def _dead_letter_copies(sessions, topic: str) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(OutboxMessage.event_type).where(OutboxMessage.topic == f"{topic}.dlq")))


async def test_a_batch_of_events_is_handled_in_one_transaction_in_order(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    ids = [f"evt_{n:02d}" for n in range(40)]
    records = [thing(i) for i in ids[:20]] + [b"not json"] + [thing(i) for i in ids[20:]]
    await send_as_one_batch(stack.kafka_bootstrap, topic, records)

    await _consume(stack, sessions, topic, _record, offsets=41)

    rows = await effects()
    assert [event_id for event_id, _ in rows] == ids, "each event once, in the partition's order"
    assert len({txid for _, txid in rows}) == 1, "one transaction for the whole batch"
    assert await _dead_letter_copies(sessions, topic) == ["tenure.unreadable"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent).where(InboxEvent.outcome == "handled")) == 40


async def test_a_poison_event_in_a_batch_is_dead_lettered_and_the_others_take_effect_once(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    calls: list[str] = []

    async def poisoned(session, event: CloudEvent) -> None:
        calls.append(event.id)
        if event.id == "evt_poison":
            raise RuntimeError("cannot handle this")
        await _record(session, event)

    ids = ["evt_1", "evt_2", "evt_poison", "evt_4", "evt_5"]
    await send_as_one_batch(stack.kafka_bootstrap, topic, [thing(i) for i in ids])

    await _consume(stack, sessions, topic, poisoned, offsets=5)

    assert [event_id for event_id, _ in await effects()] == ["evt_1", "evt_2", "evt_4", "evt_5"]
    assert calls.count("evt_poison") == 3, "the batch's try counts as the first of the bounded attempts"
    async with sessions() as session:
        poison = await session.get(InboxEvent, "evt_poison")
        assert poison.outcome == "dead_lettered" and "cannot handle this" in poison.error
        assert poison.envelope["id"] == "evt_poison"
        handled = await session.scalars(select(InboxEvent.event_id).where(InboxEvent.outcome == "handled"))
        assert sorted(handled) == ["evt_1", "evt_2", "evt_4", "evt_5"]
        assert (await session.get(ConsumerOffset, (topic, 0))).next_offset == 5
    assert await _dead_letter_copies(sessions, topic) == ["thing.happened"]


async def test_a_redelivered_batch_changes_nothing(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    ids = [f"evt_{n}" for n in range(5)]
    await send_as_one_batch(stack.kafka_bootstrap, topic, [thing(i) for i in ids])
    await _consume(stack, sessions, topic, _record, offsets=5)

    # The relay re-sent them all (a crash between send and mark), one twice, with one new event.
    await send_as_one_batch(stack.kafka_bootstrap, topic, [thing(i) for i in [*ids, "evt_0", "evt_new"]])
    await _consume(stack, sessions, topic, _record, offsets=12)

    rows = await effects()
    assert [event_id for event_id, _ in rows] == [*ids, "evt_new"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 6


async def test_a_transient_failure_in_a_batch_keeps_the_events_before_it_and_waits_on_its_own(
    stack, mechanism_db, topic, effects
):
    _, sessions = mechanism_db
    failures = []

    async def peer_down_once(session, event: CloudEvent) -> None:
        if event.id == "evt_3" and len(failures) < 2:  # the batch's try and the first try alone
            failures.append(event.id)
            raise DependencyUnavailable("credit did not answer")
        await _record(session, event)

    ids = [f"evt_{n}" for n in range(1, 7)]
    await send_as_one_batch(stack.kafka_bootstrap, topic, [thing(i) for i in ids])

    await _consume(stack, sessions, topic, peer_down_once, offsets=6)

    rows = await effects()
    assert [event_id for event_id, _ in rows] == ids, "each once, in order"
    assert rows[0][1] != rows[1][1], "after the batch failed, the events before the failure were handled one by one"
    assert len({txid for _, txid in rows[3:]}) == 1, "after the wait, the waiting event alone, then the rest as one batch"
    assert rows[2][1] != rows[3][1]
    assert len(failures) == 2
    assert await _dead_letter_copies(sessions, topic) == []


async def test_a_batch_under_a_lease_taken_meanwhile_commits_nothing_and_drops_the_partition(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    partitions = {PARTITION: [partition_resource(topic, p) for p in range(4)]}
    stale, thief = LeaseKeeper(sessions, partitions, worker_id="stale"), LeaseKeeper(sessions, partitions, worker_id="thief")
    await stale.join()
    consumer = thing_consumer(stack.kafka_bootstrap, sessions, topic, _record, leases=stale)
    await consumer.start()  # assigned every partition at epoch 1
    try:
        async with sessions() as session, session.begin():  # as if "stale" stalled past its TTL
            await session.execute(text("UPDATE workers SET expires_at = now() - interval '1 second' WHERE id = 'stale'"))
            await session.execute(text("UPDATE leases SET expires_at = now() - interval '1 second' WHERE owner = 'stale'"))
        await thief.join()
        await send_as_one_batch(stack.kafka_bootstrap, topic, [thing(f"evt_{n}") for n in range(5)])
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))  # still believes it holds partition 0 at epoch 1
        for _ in range(400):
            if TopicPartition(topic, 0) not in consumer._assigned:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task
    finally:
        await consumer.stop()
    assert TopicPartition(topic, 0) not in consumer._assigned, "the partition was dropped"
    assert await effects() == []
    async with sessions() as session:
        assert await session.get(ConsumerOffset, (topic, 0)) is None
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 0
