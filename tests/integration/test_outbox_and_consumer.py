"""The outbox relay and the idempotent consumer, on real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select, text

from tenure_shared.consumer import InboxEvent
from tenure_shared.events import CloudEvent
from tenure_shared.outbox import OutboxMessage, OutboxRelay

from .things import consume, producer, queue_customer_updates, running, send, thing, thing_consumer


async def _read_all(bootstrap: str, topic: str, expected: int) -> list:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records = []
        for _ in range(100):
            batch = await consumer.getmany(timeout_ms=200)
            records += [r for rs in batch.values() for r in rs]
            if len(records) >= expected:
                break
        return records
    finally:
        await consumer.stop()


async def test_relay_sends_each_row_once_keyed_and_in_order_per_customer(stack, mechanism_db, topic):
    _, sessions = mechanism_db
    ids = {c: await queue_customer_updates(sessions, topic, 10, customer=c) for c in ("cus_a", "cus_b", "cus_c")}
    async with producer(stack.kafka_bootstrap) as sender:
        relay = OutboxRelay(sessions, sender, batch_size=7)
        while await relay.relay_once():
            pass
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(OutboxMessage.published_at.is_(None))) == 0
    records = await _read_all(stack.kafka_bootstrap, topic, 30)
    assert len(records) == 30
    for customer, expected in ids.items():
        mine = [r for r in records if r.key == customer.encode()]
        assert len({r.partition for r in mine}) == 1, "one customer's events share a partition"
        assert [json.loads(r.value)["id"] for r in sorted(mine, key=lambda r: r.offset)] == expected
    assert all(dict(r.headers) == {"content-type": b"application/cloudevents+json"} for r in records)


async def test_consumer_applies_an_event_once_even_when_delivered_twice(stack, mechanism_db, topic):
    url, sessions = mechanism_db
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE effects (event_id text, n int)"))

    async def record_effect(session, event: CloudEvent) -> None:
        await session.execute(text("INSERT INTO effects VALUES (:id, :n)"), {"id": event.id, "n": event.data["n"]})

    twice = thing("evt_twice", n=1)
    await send(stack.kafka_bootstrap, topic, [twice, twice], partition=None)
    await consume(thing_consumer(stack.kafka_bootstrap, sessions, topic, record_effect), sessions, topic, offsets=2)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 1
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 1

    # A new consumer resumes after the stored offset: nothing is handled again.
    async with running(thing_consumer(stack.kafka_bootstrap, sessions, topic, record_effect)):
        await asyncio.sleep(0.5)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 1


async def test_a_failing_handler_is_retried_a_bounded_number_of_times_then_dead_lettered(stack, mechanism_db, topic):
    _, sessions = mechanism_db
    calls = []

    async def always_fails(session, event: CloudEvent) -> None:
        calls.append(event.id)
        raise RuntimeError("cannot handle this")

    await send(stack.kafka_bootstrap, topic, [thing("evt_poison"), b"not json at all"], partition=None)
    consumer = thing_consumer(stack.kafka_bootstrap, sessions, topic, always_fails, max_attempts=3)
    await consume(consumer, sessions, topic, offsets=2)
    assert calls == ["evt_poison"] * 3
    async with sessions() as session:
        inbox = await session.get(InboxEvent, "evt_poison")
        assert inbox.outcome == "dead_lettered" and "cannot handle this" in inbox.error
        dead = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == f"{topic}.dlq"))).all()
        assert sorted(m.event_type for m in dead) == ["tenure.unreadable", "thing.happened"]
