"""Consumer lag for the ops view: the high-water marks of fetch responses (right on the embedded
broker, unlike `end_offsets()`) minus the offsets stored with the inbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer

from tenure_shared.consumer import EventConsumer
from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import DependencyUnavailable
from tenure_shared.ops import consumer_lag_by_topic

AT = datetime(2026, 3, 1, tzinfo=UTC)


async def _lag(sessions) -> dict[str, int]:
    async with sessions() as session:
        return {topic: int(n) for _, topic, n, _ in (await session.execute(consumer_lag_by_topic())).all()}


async def test_consumer_lag_counts_the_records_fetched_but_not_consumed(stack, mechanism_db, topic):
    _, sessions = mechanism_db

    async def stuck_on_the_last(session, event: CloudEvent) -> None:
        if event.data["n"] >= 3:
            raise DependencyUnavailable("peer away")  # transient: the record stays unconsumed

    producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(1, 6):  # in two batches, which is where `end_offsets()` goes wrong
            event = CloudEvent(id=f"evt_{n}", type="thing.happened", source="itest", subject="cus_a", time=AT, data={"n": n})
            await producer.send_and_wait(topic, key=b"cus_a", value=event.model_dump_json().encode(), partition=0)
    finally:
        await producer.stop()
    consumer = EventConsumer(
        service="itest",
        bootstrap_servers=stack.kafka_bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": stuck_on_the_last},
    )
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        for _ in range(200):
            if (await _lag(sessions)).get(topic) == 3:
                break
            await asyncio.sleep(0.1)
        else:
            pytest.fail(f"lag never reached 3: {await _lag(sessions)}")
    finally:
        stop.set()
        await task
        await consumer.stop()
