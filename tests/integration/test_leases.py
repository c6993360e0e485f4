"""Work leases on real PostgreSQL and the real broker: fair shares, takeover, and fencing — a worker
whose partition was taken cannot commit its effect or its offset late."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text

from tenure_shared.consumer import ConsumerOffset, EventConsumer, InboxEvent
from tenure_shared.events import CloudEvent
from tenure_shared.leases import PARTITION, LeaseKeeper, LeaseLost, hold, partition_resource

from .things import running, send, thing, thing_consumer, until


def _keeper(sessions, topic: str, name: str, partitions: int = 4) -> LeaseKeeper:
    return LeaseKeeper(sessions, {PARTITION: [partition_resource(topic, p) for p in range(partitions)]}, worker_id=name)


async def _expire(sessions, worker: str) -> None:
    """As if `worker` stalled past its TTL (a long pause, a lost network): its heartbeat and leases lapse."""
    async with sessions() as session, session.begin():
        await session.execute(text("UPDATE workers SET expires_at = now() - interval '1 second' WHERE id = :w"), {"w": worker})
        await session.execute(text("UPDATE leases SET expires_at = now() - interval '1 second' WHERE owner = :w"), {"w": worker})


async def _effects(sessions) -> int:
    async with sessions() as session:
        return await session.scalar(text("SELECT count(*) FROM effects"))


@pytest.fixture
async def effects_table(mechanism_db):
    _, sessions = mechanism_db
    async with sessions() as session, session.begin():
        await session.execute(text("CREATE TABLE effects (event_id text)"))


async def _record(session, event: CloudEvent) -> None:
    await session.execute(text("INSERT INTO effects VALUES (:id)"), {"id": event.id})


def _consumer(stack, sessions, topic: str, leases: LeaseKeeper, handler=_record) -> EventConsumer:
    return thing_consumer(stack.kafka_bootstrap, sessions, topic, handler, leases=leases)


async def test_workers_split_the_leases_fairly_and_take_over_a_stalled_ones_share(mechanism_db):
    _, sessions = mechanism_db
    first, second = _keeper(sessions, "t", "w1", 8), _keeper(sessions, "t", "w2", 8)
    await first.join()
    assert len(first.held(PARTITION)) == 8, "alone, a worker holds everything"
    await second.join()
    await first.renew()  # sees two live workers: gives half back
    await second.renew()
    assert len(first.held(PARTITION)) == 4 and len(second.held(PARTITION)) == 4
    assert not set(first.held(PARTITION)) & set(second.held(PARTITION))

    await _expire(sessions, "w1")
    before = second.held(PARTITION)
    await second.renew()
    assert len(second.held(PARTITION)) == 8, "the stalled worker's share moved"
    taken = {r: e for r, e in second.held(PARTITION).items() if r not in before}
    assert all(e == 2 for e in taken.values()), "taking a lease raises its epoch"

    await second.release()
    await first.renew()
    assert len(first.held(PARTITION)) == 8, "given back on a clean stop: taken at once"


async def test_workers_that_consume_different_topics_leave_no_partition_unowned(mechanism_db):
    """A rolling deploy that adds a consumed topic: the old worker does not know `q`. With a fair
    share counted over each worker's own list (10 + 12 of 24) two partitions stayed unowned."""
    _, sessions = mechanism_db
    old_names = [partition_resource(t, p) for t in "abcde" for p in range(4)]
    new_names = old_names + [partition_resource("q", p) for p in range(4)]
    old = LeaseKeeper(sessions, {PARTITION: old_names}, worker_id="old")
    new = LeaseKeeper(sessions, {PARTITION: new_names}, worker_id="new")
    await old.join()
    await new.join()
    for _ in range(3):
        await old.renew()
        await new.renew()
    assert set(old.held(PARTITION)) | set(new.held(PARTITION)) == set(new_names)
    assert not set(old.held(PARTITION)) & set(new.held(PARTITION))
    assert min(len(old.held(PARTITION)), len(new.held(PARTITION))) >= 10  # both work


async def test_a_worker_whose_partition_was_taken_cannot_commit_its_effect_or_offset(stack, mechanism_db, topic, effects_table):
    _, sessions = mechanism_db
    stale, thief = _keeper(sessions, topic, "stale"), _keeper(sessions, topic, "thief")
    await stale.join()
    late = _consumer(stack, sessions, topic, stale)
    await late.start()  # assigned every partition at epoch 1
    try:
        await _expire(sessions, "stale")
        await thief.join()
        assert len(thief.held(PARTITION)) == 4, "the thief took every partition"

        await send(stack.kafka_bootstrap, topic, [thing("evt_late")])
        stop = asyncio.Event()
        task = asyncio.create_task(late.run(stop))  # still believes it holds partition 0 at epoch 1
        await until(lambda: _partition_dropped(late, topic))
        stop.set()
        await task
    finally:
        await late.stop()
    assert await _effects(sessions) == 0, "the late effect was rolled back"
    async with sessions() as session:
        assert await session.get(ConsumerOffset, (topic, 0)) is None, "no late offset"
        assert await session.get(InboxEvent, "evt_late") is None
    with pytest.raises(LeaseLost):
        async with sessions() as session, session.begin():
            await hold(session, partition_resource(topic, 0), "stale", 1)

    async with running(_consumer(stack, sessions, topic, thief)):
        await until(lambda: _has_effects(sessions, 1))
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxEvent)) == 1


async def test_a_lease_under_a_commit_in_flight_cannot_be_taken_until_that_commit_lands(
    stack, mechanism_db, topic, effects_table
):
    _, sessions = mechanism_db
    partitions = {PARTITION: [partition_resource(topic, p) for p in range(4)]}
    holder = LeaseKeeper(sessions, partitions, worker_id="holder", ttl_seconds=1.0)  # never renewed here
    thief = _keeper(sessions, topic, "thief")
    await holder.join()
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(session, event: CloudEvent) -> None:
        await _record(session, event)
        entered.set()
        await release.wait()

    consumer = _consumer(stack, sessions, topic, holder, slow)
    await consumer.start()
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    try:
        await send(stack.kafka_bootstrap, topic, [thing("evt_slow")])
        await asyncio.wait_for(entered.wait(), 20)
        await asyncio.sleep(1.5)  # the holder's heartbeat and leases expire while its handler still runs
        await thief.join()
        assert partition_resource(topic, 0) not in thief.held(PARTITION), "locked by the commit in flight: skipped"
        release.set()
        await until(lambda: _has_effects(sessions, 1))
    finally:
        release.set()
        stop.set()
        await task
        await consumer.stop()
    await thief.renew()
    assert partition_resource(topic, 0) in thief.held(PARTITION), "taken once the commit landed"
    async with sessions() as session:
        assert (await session.get(ConsumerOffset, (topic, 0))).next_offset == 1, "the next owner starts after it"


async def _partition_dropped(consumer: EventConsumer, topic: str) -> bool:
    return all(tp.partition != 0 for tp in consumer._assigned)


async def _has_effects(sessions, n: int) -> bool:
    return await _effects(sessions) == n
