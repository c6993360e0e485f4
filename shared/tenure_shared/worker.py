"""A service's worker process: outbox relay, event consumer, real-time due work, broker watch.

Every worker process of a service is active. They share the work through leases in the service's
database (`tenure_shared.leases`): each consumes the partitions and relays the outbox shards it
holds, and runs the singleton loops (`extra_loops`, e.g. the test-clock coordinator) it holds;
due work, dead-letter replays and idempotency-key clean-up are shared row by row (SKIP LOCKED).
A SIGKILLed worker's leases expire and move to the others; SIGTERM gives them back at once.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

import structlog
from sqlalchemy import String, delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.broker import cluster_id, ensure_topics, make_admin, make_producer
from tenure_shared.clock import real_now
from tenure_shared.consumer import ConsumerOffset, EventConsumer, EventHandler
from tenure_shared.db import Base, connect_raw, make_engine, make_session_factory
from tenure_shared.dead_letters import REPLAY_CHANNEL, run_requested_replays
from tenure_shared.due_work import DUE_WORK_CHANNEL, DueWorkRunner, JobHandler
from tenure_shared.events import TOPIC_PARTITIONS
from tenure_shared.idempotency import delete_expired_keys
from tenure_shared.leases import LOOP, OUTBOX, PARTITION, LeaseKeeper, loop_resource, partition_resource
from tenure_shared.logging import configure_logging
from tenure_shared.outbox import OUTBOX_CHANNEL, OutboxRelay, first_of, outbox_resources, republish_cutoff
from tenure_shared.settings import ServiceSettings

log = structlog.get_logger()


class BrokerState(Base):
    """The cluster id of the broker this service last talked to."""

    __tablename__ = "broker_state"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    cluster_id: Mapped[str] = mapped_column(String)


async def _every(
    stop: asyncio.Event, seconds: float, work: Callable[[], Awaitable[object]], name: str, woken: asyncio.Event | None = None
) -> None:
    """Run `work` every `seconds`, and at once when `woken` is set."""
    woken = woken or asyncio.Event()
    while not stop.is_set():
        woken.clear()
        try:
            await work()
        except Exception as exc:
            log.warning(f"{name}_failed", error=repr(exc))
        await first_of(stop, woken, timeout=seconds)


def freeze_startup_heap() -> None:
    """Put every object alive now (modules, the ORM's mappings, settings, pools) out of the garbage
    collector's way: its full collections then scan what the process's work allocates, not the
    whole startup heap again. A daily health recompute spent about a fifth of its CPU in full
    collections before (docs/benchmarks/profile-2026-12-07-health-recompute.md); call it once the
    process is set up, before its work starts."""
    gc.freeze()


async def run_worker(
    *,
    settings: ServiceSettings,
    handlers: dict[str, EventHandler],
    consumed_topics: Sequence[str],
    job_handlers: dict[str, JobHandler],
    extra_loops: dict[str, Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]]] | None = None,
    extra_loop_seconds: float = 1.0,
) -> None:
    """Run the worker until SIGTERM/SIGINT. Each of `extra_loops` is keyed by a PostgreSQL NOTIFY
    channel: it runs when that channel is notified (see `notify`), and every `extra_loop_seconds`,
    in one worker of the service at a time (the holder of its `loop:` lease)."""
    configure_logging(service=settings.service_name, log_format=settings.log_format, level=settings.log_level)
    url = settings.service_database_url()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    # LISTEN needs a connection of its own; losing it stops the worker (the supervisor restarts it).
    listener = await connect_raw(url)
    engine = make_engine(url, pre_ping=False)
    sessions = make_session_factory(engine)
    leases = LeaseKeeper(
        sessions,
        {
            PARTITION: [partition_resource(t, p) for t in consumed_topics for p in range(TOPIC_PARTITIONS)],
            OUTBOX: outbox_resources(),
            LOOP: [loop_resource(channel) for channel in extra_loops or {}],
        },
    )
    admin = make_admin(settings.kafka_bootstrap_servers)
    producer = make_producer(settings)
    consumer = EventConsumer(
        service=settings.service_name,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        session_factory=sessions,
        topics=tuple(consumed_topics),
        handlers=handlers,
        max_attempts=settings.consumer_max_attempts,
        leases=leases,
    )
    relay = OutboxRelay(sessions, producer, leases=leases)
    due_work = DueWorkRunner(sessions, job_handlers)

    await _start_with_retry(admin.start, "admin")
    await _start_with_retry(lambda: ensure_topics(admin), "topics")
    await _start_with_retry(producer.start, "producer")
    await leases.join()
    freeze_startup_heap()
    log.info("worker_active", worker_id=leases.worker_id)
    if consumed_topics:
        await _start_with_retry(consumer.start, "consumer")

    seen_cluster: list[str | None] = [None]  # the cluster id this worker last saw

    async def watch_broker() -> None:
        """A new cluster id means the broker lost its log (a memory-only broker restarted, or a
        new cluster). The first worker to record the new id creates the topics, sends recent events
        again and forgets every stored offset; every worker that saw the old id re-reads its own
        partitions from the start."""
        current = await cluster_id(admin)
        if current == seen_cluster[0]:
            return
        first_look, seen_cluster[0] = seen_cluster[0] is None, current
        async with sessions() as session, session.begin():
            known = await session.get(BrokerState, "kafka", with_for_update=True)
            old = known.cluster_id if known is not None else None
            reset = old is not None and old != current
            statement = insert(BrokerState).values(name="kafka", cluster_id=current)
            await session.execute(
                statement.on_conflict_do_update(index_elements=[BrokerState.name], set_={"cluster_id": current})
            )
            if reset:
                await session.execute(delete(ConsumerOffset))
        if reset:
            log.warning("broker_reset_detected", old=old, new=current)
            await ensure_topics(admin)
            resent = await relay.republish_since(republish_cutoff(settings.republish_window_hours))
            log.warning("outbox_republished", rows=resent)
        if consumed_topics and (reset or not first_look):
            consumer.request_rewind()

    async def run_real_time_due_work() -> None:
        await due_work.run_due(None, real_now())

    async def expire_idempotency_keys() -> None:
        async with sessions() as session, session.begin():
            await delete_expired_keys(session, older_than=real_now() - timedelta(hours=settings.idempotency_key_hours))

    async def watch_listener() -> None:
        await listener.fetchval("SELECT 1")  # raises when the connection is gone

    # Every LISTEN happens before the tasks start: the connection runs one operation at a time.
    outbox_committed = asyncio.Event()
    await listener.add_listener(OUTBOX_CHANNEL, lambda *_: outbox_committed.set())
    replay_requested = asyncio.Event()
    await listener.add_listener(REPLAY_CHANNEL, lambda *_: replay_requested.set())
    job_due_now = asyncio.Event()
    await listener.add_listener(DUE_WORK_CHANNEL, lambda *_: job_due_now.set())
    extra = []
    for channel, loop_body in (extra_loops or {}).items():
        woken = asyncio.Event()
        await listener.add_listener(channel, lambda *_, woken=woken: woken.set())
        body = partial(_if_held, leases, loop_resource(channel), loop_body, sessions)
        extra.append(_every(stop, extra_loop_seconds, body, channel, woken))
    tasks = [
        asyncio.create_task(relay.run(stop, outbox_committed, poll_seconds=settings.relay_poll_seconds)),
        asyncio.create_task(_every(stop, settings.broker_check_seconds, watch_broker, "broker_watch")),
        asyncio.create_task(_every(stop, settings.due_work_poll_seconds, run_real_time_due_work, "due_work", job_due_now)),
        asyncio.create_task(_every(stop, 3600, expire_idempotency_keys, "idempotency_cleanup")),
        # Dead-letter replays run here, beside the handlers (see tenure_shared.dead_letters).
        asyncio.create_task(_every(stop, 5.0, partial(run_requested_replays, sessions, handlers), "replay", replay_requested)),
        asyncio.create_task(_connection_guard(stop, watch_listener)),
        asyncio.create_task(leases.run(stop)),
        *(asyncio.create_task(loop) for loop in extra),
    ]
    if consumed_topics:
        tasks.append(asyncio.create_task(consumer.run(stop)))
    await stop.wait()
    log.info("worker_stopping")
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await consumer.stop()
    try:
        await leases.release()
    except Exception as exc:  # database away: the leases expire instead
        log.warning("lease_release_failed", error=repr(exc))
    await producer.stop()
    await admin.close()
    await engine.dispose()
    await listener.close()


async def _if_held(
    leases: LeaseKeeper,
    resource: str,
    body: Callable[[async_sessionmaker[AsyncSession]], Awaitable[object]],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Run a singleton loop's body only in the worker holding its lease."""
    if leases.holds(resource):
        await body(sessions)


async def _connection_guard(stop: asyncio.Event, check: Callable[[], Awaitable[object]]) -> None:
    """Stop the worker if its LISTEN connection is lost: it would miss notifications."""
    while not stop.is_set():
        try:
            await check()
        except Exception as exc:
            log.error("worker_connection_lost", error=repr(exc))
            stop.set()
            return
        await asyncio.sleep(2.0)


async def _start_with_retry(start: Callable[[], Awaitable[object]], what: str) -> None:
    """Wait for the broker: a worker may start before it."""
    delay = 0.2
    while True:
        try:
            await start()
            return
        except Exception as exc:
            log.warning("waiting_for_broker", step=what, error=repr(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
