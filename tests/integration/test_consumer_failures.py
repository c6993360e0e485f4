"""Consumer failure classes and dead-letter replay, on real PostgreSQL and the real broker.

Transient: the event stays unconsumed and only its partition waits. Deterministic: bounded
retries, then a dead letter with its envelope, which a replay handles through the inbox once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from tenure_shared import dead_letters
from tenure_shared.consumer import ConsumerOffset, InboxEvent
from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import DependencyUnavailable, PeerRefused
from tenure_shared.outbox import OutboxMessage

from .things import running, send, thing, thing_consumer, until


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


def _consumer(stack, sessions, topic: str, handler):
    return thing_consumer(stack.kafka_bootstrap, sessions, topic, handler, max_attempts=3)


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

    async with running(_consumer(stack, sessions, topic, peer_down_for_a_while)):
        await send(stack.kafka_bootstrap, topic, [thing("evt_flaky")], partition=0)

        async def flaky_tried() -> bool:
            return "evt_flaky" in calls

        await until(flaky_tried)
        async with sessions() as session:
            assert await session.get(InboxEvent, "evt_flaky") is None, "no inbox row while it waits"
            assert await session.get(ConsumerOffset, (topic, 0)) is None, "offset not advanced while it waits"
        await send(stack.kafka_bootstrap, topic, [thing("evt_other")], partition=1)

        async def both_handled() -> bool:
            return await effects("evt_flaky") == 1 and await effects("evt_other") == 1

        await until(both_handled)
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

    async with running(_consumer(stack, sessions, topic, peer_refuses)):
        await send(stack.kafka_bootstrap, topic, [thing("evt_refused")], partition=2)

        async def dead_lettered() -> bool:
            async with sessions() as session:
                row = await session.get(InboxEvent, "evt_refused")
                return row is not None and row.outcome == "dead_lettered"

        await until(dead_lettered)
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

    async with running(_consumer(stack, sessions, topic, refuses)):
        await send(stack.kafka_bootstrap, topic, [thing("evt_bug")], partition=3)

        async def dead_lettered() -> bool:
            async with sessions() as session:
                return await session.get(InboxEvent, "evt_bug") is not None

        await until(dead_lettered)
    async with sessions() as session, session.begin():
        assert (await dead_letters.discard(session, "evt_bug")).outcome == "discarded"
    async with sessions() as session:
        assert [r.outcome for r in await dead_letters.list_dead_letters(session, topic=topic)] == ["discarded"]
