"""The outbox relay and the idempotent consumer, on real PostgreSQL and the real broker."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import func, select, text

from tenure_shared.consumer import ConsumerOffset, EventConsumer, InboxEvent
from tenure_shared.events import CloudEvent, CustomerData
from tenure_shared.outbox import OutboxMessage, OutboxRelay, add_event

AT = datetime(2026, 3, 1, tzinfo=UTC)


async def _queue(sessions, topic: str, customer: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        async with sessions() as session, session.begin():
            event = await add_event(
                session,
                source="itest",
                topic=topic,
                event_type="customer.updated",
                customer_id=customer,
                data=CustomerData(id=customer, email=f"{customer}@example.com", name=customer, currency="USD", version=i),
                business_time=AT,
                clock_id=None,
            )
            ids.append(event.id)
    return ids


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


async def _producer(bootstrap: str) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    return producer


async def test_relay_sends_each_row_once_keyed_and_in_order_per_customer(stack, mechanism_db, topic):
    _, sessions = mechanism_db
    ids = {c: await _queue(sessions, topic, c, 10) for c in ("cus_a", "cus_b", "cus_c")}
    producer = await _producer(stack.kafka_bootstrap)
    try:
        relay = OutboxRelay(sessions, producer, batch_size=7)
        while await relay.relay_once():
            pass
    finally:
        await producer.stop()
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

    event = CloudEvent(id="evt_twice", type="thing.happened", source="itest", subject="cus_a", time=AT, data={"n": 1})
    producer = await _producer(stack.kafka_bootstrap)
    try:
        for _ in range(2):
            await producer.send_and_wait(topic, key=b"cus_a", value=event.model_dump_json().encode())
    finally:
        await producer.stop()
    consumer = EventConsumer(
        service="itest",
        bootstrap_servers=stack.kafka_bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": record_effect},
    )
    await _consume_until(consumer, sessions, topic, offsets=2)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 1
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 1

    # A new consumer resumes after the stored offset: nothing is handled again.
    again = EventConsumer(
        service="itest",
        bootstrap_servers=stack.kafka_bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": record_effect},
    )
    await _consume_until(again, sessions, topic, offsets=2, idle_rounds=5)
    async with sessions() as session:
        assert (await session.execute(text("SELECT count(*) FROM effects"))).scalar() == 1


async def test_a_failing_handler_is_retried_a_bounded_number_of_times_then_dead_lettered(stack, mechanism_db, topic):
    _, sessions = mechanism_db
    calls = []

    async def always_fails(session, event: CloudEvent) -> None:
        calls.append(event.id)
        raise RuntimeError("cannot handle this")

    event = CloudEvent(id="evt_poison", type="thing.happened", source="itest", subject="cus_a", time=AT, data={})
    producer = await _producer(stack.kafka_bootstrap)
    try:
        await producer.send_and_wait(topic, key=b"cus_a", value=event.model_dump_json().encode())
        await producer.send_and_wait(topic, key=b"cus_a", value=b"not json at all")
    finally:
        await producer.stop()
    consumer = EventConsumer(
        service="itest",
        bootstrap_servers=stack.kafka_bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": always_fails},
        max_attempts=3,
    )
    await _consume_until(consumer, sessions, topic, offsets=2)
    assert calls == ["evt_poison"] * 3
    async with sessions() as session:
        inbox = await session.get(InboxEvent, "evt_poison")
        assert inbox.outcome == "dead_lettered" and "cannot handle this" in inbox.error
        dead = (await session.scalars(select(OutboxMessage).where(OutboxMessage.topic == f"{topic}.dlq"))).all()
        assert sorted(m.event_type for m in dead) == ["tenure.unreadable", "thing.happened"]


async def _consume_until(consumer: EventConsumer, sessions, topic: str, *, offsets: int, idle_rounds: int = 0) -> None:
    """Run the consumer until it has stored `offsets` consumed records for the topic."""
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(200):
            async with sessions() as session:
                done = await session.scalar(
                    select(func.coalesce(func.sum(ConsumerOffset.next_offset), 0)).where(ConsumerOffset.topic == topic)
                )
            if done >= offsets:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the consumer did not catch up")
        for _ in range(idle_rounds):
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task
        await consumer.stop()
