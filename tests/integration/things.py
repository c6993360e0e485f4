"""What the mechanism tests push through the real outbox, broker and consumer: a `thing.happened`
event (a type no service handles), a producer for its bytes, a consumer of it on a scratch database,
and `customer.updated` events queued in the outbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_shared.consumer import ConsumerOffset, EventConsumer, EventHandler
from tenure_shared.db import connect_raw
from tenure_shared.events import CloudEvent, CustomerData
from tenure_shared.outbox import add_event

AT = datetime(2026, 3, 1, tzinfo=UTC)
THING = "thing.happened"

Sessions = async_sessionmaker[AsyncSession]


def thing(event_id: str, *, customer: str = "cus_a", source: str = "itest", **data: Any) -> bytes:
    """A `thing.happened` envelope as the broker carries it."""
    event = CloudEvent(id=event_id, type=THING, source=source, subject=customer, time=AT, data=data)
    return event.model_dump_json().encode()


@asynccontextmanager
async def producer(bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    started = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await started.start()
    try:
        yield started
    finally:
        await started.stop()


async def send(bootstrap: str, topic: str, values: list[bytes], *, partition: int | None = 0) -> None:
    """Send records keyed by customer `cus_a`, one after another, to `partition` (None: by key)."""
    async with producer(bootstrap) as sender:
        for value in values:
            await sender.send_and_wait(topic, key=b"cus_a", value=value, partition=partition)


async def send_as_one_batch(bootstrap: str, topic: str, values: list[bytes], *, partition: int = 0) -> None:
    """One producer batch on one partition, so that the consumer fetches the records together."""
    async with producer(bootstrap) as sender:
        batch = sender.create_batch()
        for value in values:
            assert batch.append(key=b"cus_a", value=value, timestamp=None) is not None
        batch.close()
        await (await sender.send_batch(batch, topic, partition=partition))


def thing_consumer(
    bootstrap: str, sessions: Sessions, topic: str, handler: EventHandler, *, service: str = "itest", **options: Any
) -> EventConsumer:
    """A consumer of `topic` that hands every `thing.happened` to `handler`."""
    return EventConsumer(
        service=service,
        bootstrap_servers=bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={THING: handler},
        **options,
    )


@asynccontextmanager
async def running(consumer: EventConsumer) -> AsyncIterator[EventConsumer]:
    """The consumer started and running until the block ends."""
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        yield consumer
    finally:
        stop.set()
        await task
        await consumer.stop()


async def until(condition: Callable[[], Awaitable[bool]], *, seconds: float = 30.0, what: str = "condition") -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"{what} not reached in time")


async def stored_offsets(sessions: Sessions, topic: str, partition: int | None = None) -> int:
    """The records of `topic` (or of one partition) the consumers have stored as consumed."""
    query = select(func.coalesce(func.sum(ConsumerOffset.next_offset), 0)).where(ConsumerOffset.topic == topic)
    if partition is not None:
        query = query.where(ConsumerOffset.partition == partition)
    async with sessions() as session:
        return int(await session.scalar(query) or 0)


async def consume(consumer: EventConsumer, sessions: Sessions, topic: str, *, offsets: int, partition: int | None = None) -> None:
    """Run the consumer until `offsets` records of the topic (or partition) are stored as consumed."""

    async def caught_up() -> bool:
        return await stored_offsets(sessions, topic, partition) >= offsets

    async with running(consumer):
        await until(caught_up, what="the consumer catching up")


async def queue_customer_updates(
    sessions: Sessions, topic: str, n: int, *, customer: str = "cus_1", clock_id: str | None = None
) -> list[str]:
    """`n` customer.updated events in the outbox, one transaction each; their ids in order."""
    ids = []
    for version in range(n):
        async with sessions() as session, session.begin():
            ids.append((await add_customer_update(session, topic, customer=customer, clock_id=clock_id, version=version)).id)
    return ids


async def add_customer_update(
    session: AsyncSession, topic: str, *, customer: str = "cus_1", clock_id: str | None = None, version: int = 0
) -> CloudEvent:
    data = CustomerData(id=customer, email=f"{customer}@example.com", name=customer, currency="USD", version=version)
    return await add_event(
        session,
        source="itest",
        topic=topic,
        event_type="customer.updated",
        customer_id=customer,
        data=data,
        business_time=AT,
        clock_id=clock_id,
    )


@asynccontextmanager
async def notifications(url: str, channel: str) -> AsyncIterator[asyncio.Queue[str]]:
    """The payloads of the NOTIFYs on `channel` while the block runs, on a LISTEN connection of its own."""
    listener = await connect_raw(url)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(channel, lambda *args: received.put_nowait(args[2]))
    try:
        yield received
    finally:
        await listener.close()
