"""Consumer lag for the ops view: the high-water marks of fetch responses (right on the embedded
broker, unlike `end_offsets()`) minus the offsets stored with the inbox."""

from __future__ import annotations

from tenure_shared.events import CloudEvent
from tenure_shared.internal_http import DependencyUnavailable
from tenure_shared.ops import consumer_lag_by_topic

from .things import running, send, thing, thing_consumer, until


async def _lag(sessions) -> dict[str, int]:
    async with sessions() as session:
        return {topic: int(n) for _, topic, n, _ in (await session.execute(consumer_lag_by_topic())).all()}


async def test_consumer_lag_counts_the_records_fetched_but_not_consumed(stack, mechanism_db, topic):
    _, sessions = mechanism_db

    async def stuck_on_the_last(session, event: CloudEvent) -> None:
        if event.data["n"] >= 3:
            raise DependencyUnavailable("peer away")  # transient: the record stays unconsumed

    # In two batches, which is where `end_offsets()` goes wrong.
    await send(stack.kafka_bootstrap, topic, [thing(f"evt_{n}", n=n) for n in range(1, 6)])

    async def three_behind() -> bool:
        return (await _lag(sessions)).get(topic) == 3

    async with running(thing_consumer(stack.kafka_bootstrap, sessions, topic, stuck_on_the_last)):
        await until(three_behind, seconds=20, what="a lag of 3")
