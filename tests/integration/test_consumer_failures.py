"""Consumer failure classes and dead-letter replay, on real PostgreSQL and the real broker.

Transient: the event stays unconsumed and only its partition waits. Deterministic: bounded
retries, then a dead letter with its envelope, which a replay handles through the inbox once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, text

from tenure_shared import dead_letters
from tenure_shared.consumer import ConsumerOffset, EventConsumer, InboxEvent
from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import DependencyUnavailable, PeerRefused
from tenure_shared.outbox import OutboxMessage

AT = datetime(2026, 3, 1, tzinfo=UTC)


def _event(event_id: str) -> bytes:
    return (
        CloudEvent(id=event_id, type="thing.happened", source="itest", subject="cus_a", time=AT, data={})
        .model_dump_json()
        .encode()
    )


async def _send(bootstrap: str, topic: str, partition: int, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, key=b"cus_a", value=value, partition=partition)
    finally:
        await producer.stop()


async def _until(condition, *, seconds: float = 30.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    pytest.fail("condition not reached in time")


@pytest.fixture
async def effects(mechanism_db):
    _, sessions = mechanism_db
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE effects (event_id text)"))

    async def count(event_id: str) -> int:
        async with sessions() as session:
            return (await session.execute(text("SELECT count(*) FROM effects WHERE event_id = :id"), {"id": event_id})).scalar()

    return count


async def _record(session, event: CloudEvent) -> None:
    await session.execute(text("INSERT INTO effects VALUES (:id)"), {"id": event.id})


async def _running(stack, sessions, topic: str, handler) -> tuple[EventConsumer, asyncio.Event, asyncio.Task]:
    consumer = EventConsumer(
        service="itest",
        bootstrap_servers=stack.kafka_bootstrap,
        session_factory=sessions,
        topics=(topic,),
        handlers={"thing.happened": handler},
        max_attempts=3,
    )
    await consumer.start()
    stop = asyncio.Event()
    return consumer, stop, asyncio.create_task(consumer.run(stop))


async def _stop(consumer: EventConsumer, stop: asyncio.Event, task: asyncio.Task) -> None:
    stop.set()
    await task
    await consumer.stop()


async def test_a_transient_failure_waits_on_its_partition_while_the_others_flow(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    calls: list[str] = []
    handled: list[str] = []

    async def peer_down_for_a_while(session, event: CloudEvent) -> None:
        calls.append(event.id)
        # Down until the other partition's event went through (or, without per-partition waiting, 6 tries).
        if event.id == "evt_flaky" and "evt_other" not in handled and calls.count("evt_flaky") < 6:
            raise DependencyUnavailable("credit did not answer")
        await _record(session, event)
        handled.append(event.id)

    consumer, stop, task = await _running(stack, sessions, topic, peer_down_for_a_while)
    try:
        await _send(stack.kafka_bootstrap, topic, 0, _event("evt_flaky"))

        async def flaky_tried() -> bool:
            return "evt_flaky" in calls

        await _until(flaky_tried)
        async with sessions() as session:
            assert await session.get(InboxEvent, "evt_flaky") is None, "no inbox row while it waits"
            assert await session.get(ConsumerOffset, (topic, 0)) is None, "offset not advanced while it waits"
        await _send(stack.kafka_bootstrap, topic, 1, _event("evt_other"))

        async def both_handled() -> bool:
            return await effects("evt_flaky") == 1 and await effects("evt_other") == 1

        await _until(both_handled)
    finally:
        await _stop(consumer, stop, task)
    assert handled == ["evt_other", "evt_flaky"], "the other partition was handled while the first one waited"
    async with sessions() as session:
        assert (await session.get(InboxEvent, "evt_flaky")).outcome == "handled"
        assert (await session.get(ConsumerOffset, (topic, 0))).next_offset == 1
        assert await session.scalar(select(func.count()).where(OutboxMessage.topic == f"{topic}.dlq")) == 0


async def test_a_peer_refusal_is_dead_lettered_and_a_replay_handles_it_once(stack, mechanism_db, topic, effects):
    _, sessions = mechanism_db
    calls: list[str] = []
    refusing = True

    async def peer_refuses(session, event: CloudEvent) -> None:
        calls.append(event.id)
        if refusing:
            raise PeerRefused("No such customer.", service="subscription", code="customer_not_found", status=404)
        await _record(session, event)

    consumer, stop, task = await _running(stack, sessions, topic, peer_refuses)
    try:
        await _send(stack.kafka_bootstrap, topic, 2, _event("evt_refused"))

        async def dead_lettered() -> bool:
            async with sessions() as session:
                row = await session.get(InboxEvent, "evt_refused")
                return row is not None and row.outcome == "dead_lettered"

        await _until(dead_lettered)
    finally:
        await _stop(consumer, stop, task)
    assert calls == ["evt_refused"] * 3, "bounded retries"
    async with sessions() as session:
        row = await session.get(InboxEvent, "evt_refused")
        assert row.envelope["id"] == "evt_refused" and row.dead_lettered_at is not None
        assert "customer_not_found" in row.error or "No such customer" in row.error
        assert await session.scalar(select(func.count()).where(OutboxMessage.topic == f"{topic}.dlq")) == 1
        listed = await dead_letters.list_dead_letters(session, topic=topic, status="dead_lettered")
        assert [r.event_id for r in listed] == ["evt_refused"]

    handlers = {"thing.happened": peer_refuses}
    # Refused again on replay: back to dead_lettered, no effect.
    async with sessions() as session, session.begin():
        assert (await dead_letters.request_replay(session, "evt_refused")).outcome == "replay_requested"
    assert await dead_letters.run_requested_replays(sessions, handlers) == 0
    async with sessions() as session:
        assert (await session.get(InboxEvent, "evt_refused")).outcome == "dead_lettered"
    assert await effects("evt_refused") == 0

    refusing = False  # the customer exists now
    for _ in range(2):  # the second replay finds it handled and changes nothing
        async with sessions() as session, session.begin():
            await dead_letters.request_replay(session, "evt_refused")
        await dead_letters.run_requested_replays(sessions, handlers)
    async with sessions() as session:
        row = await session.get(InboxEvent, "evt_refused")
        assert (row.outcome, row.error) == ("handled", None)
    assert await effects("evt_refused") == 1
    async with sessions() as session, session.begin():
        with pytest.raises(dead_letters.DeadLetterAlreadyHandled):
            await dead_letters.discard(session, "evt_refused")


async def test_a_dead_letter_can_be_discarded(stack, mechanism_db, topic):
    _, sessions = mechanism_db

    async def refuses(session, event: CloudEvent) -> None:
        raise RuntimeError("bug")

    consumer, stop, task = await _running(stack, sessions, topic, refuses)
    try:
        await _send(stack.kafka_bootstrap, topic, 3, _event("evt_bug"))

        async def dead_lettered() -> bool:
            async with sessions() as session:
                return await session.get(InboxEvent, "evt_bug") is not None

        await _until(dead_lettered)
    finally:
        await _stop(consumer, stop, task)
    async with sessions() as session, session.begin():
        assert (await dead_letters.discard(session, "evt_bug")).outcome == "discarded"
    async with sessions() as session:
        assert [r.outcome for r in await dead_letters.list_dead_letters(session, topic=topic)] == ["discarded"]
