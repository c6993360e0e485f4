"""Idempotent consumption: an inbox of processed event ids, written in the same transaction as the
handler's effect, together with the consumed offset.

No consumer group: each worker of a service holds leases on some of the partitions
(`tenure_shared.leases`), assigns itself those, and seeks each to its offset stored in PostgreSQL
beside the inbox; an effect, its inbox row and its offset commit together. The commit is fenced:
its transaction first locks the partition's lease FOR SHARE and checks owner and epoch, so a worker
whose partition moved to another cannot commit late (the effect rolls back, the partition is
dropped). Restarts and takeovers resume at once from the stored offsets, without a group rebalance.

A partition's fetched records are handled as a batch, up to BATCH_LIMIT in one transaction: one
fence, one inbox statement for all of them, the handlers in record order, one offset write. The
per-event fence, inbox insert, offset write and transaction start were most of a trivial handler's
cost. If anything in a batch fails, the whole batch rolls back and its records are handled one per
transaction, as below, so failures stay per event.

Failures come in two classes (`tenure_shared.failures`):
- transient (a peer or the database away): the event stays unconsumed, no inbox row, offset not
  advanced; its partition alone is paused and the record tried again after 1 s, 2 s, 4 s … 5 min,
  while the other partitions keep flowing;
- deterministic (a peer's refusal, the handler's own error): a bounded number of quick retries,
  then the event is recorded as dead-lettered with its whole envelope and copied to `<topic>.dlq`
  (through the outbox, in the same transaction). A dead letter can be replayed or discarded
  (`tenure_shared.dead_letters`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, delete, func, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from tenure_shared.clock import real_now
from tenure_shared.db import Base
from tenure_shared.deferred import run_deferred
from tenure_shared.events import UNREADABLE_EVENT_TYPE, CloudEvent, DeadLetterData, UnreadableRecordData, dead_letter_topic
from tenure_shared.failures import consumer_retry_delay, is_transient
from tenure_shared.leases import PARTITION, LeaseKeeper, LeaseLost, hold, partition_resource
from tenure_shared.outbox import add_event

log = structlog.get_logger()

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class InboxEvent(Base):
    __tablename__ = "inbox_events"
    __table_args__ = (
        Index(
            "ix_inbox_events_dead_letters", "outcome", "dead_lettered_at", postgresql_where=text("dead_lettered_at IS NOT NULL")
        ),
    )

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    topic: Mapped[str] = mapped_column(String)
    event_type: Mapped[str] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    # handled | ignored | dead_lettered | replay_requested | discarded
    outcome: Mapped[str] = mapped_column(String)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Kept for dead letters only, so they can be replayed.
    envelope: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    dead_lettered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsumerOffset(Base):
    __tablename__ = "consumer_offsets"

    topic: Mapped[str] = mapped_column(String, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)


class PartitionHighWater(Base):
    """The partition's high-water mark as the last fetch response gave it (the embedded broker's
    `end_offsets()` is wrong; fetch responses are right), for the consumer lag in the ops view."""

    __tablename__ = "partition_high_water"

    topic: Mapped[str] = mapped_column(String, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    high_water: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


HIGH_WATER_EVERY_SECONDS = 2.0


async def _record_offset(session: AsyncSession, record: ConsumerRecord) -> None:
    statement = insert(ConsumerOffset).values(topic=record.topic, partition=record.partition, next_offset=record.offset + 1)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ConsumerOffset.topic, ConsumerOffset.partition],
            set_={"next_offset": statement.excluded.next_offset},
        )
    )


def _inbox_row(event: CloudEvent, topic: str, outcome: str, error: str | None = None) -> dict[str, Any]:
    dead = outcome == "dead_lettered"
    return {
        "event_id": event.id,
        "topic": topic,
        "event_type": event.type,
        "clock_id": event.tenureclock,
        "outcome": outcome,
        "error": error,
        "envelope": event.model_dump(mode="json", exclude_none=True) if dead else None,
        "dead_lettered_at": real_now() if dead else None,
    }


async def _claim_rows(session: AsyncSession, rows: list[dict[str, Any]]) -> set[str]:
    """Record events in the inbox, in one statement. The ids recorded now: the others (and the
    repeats of an id among `rows`) were processed before."""
    statement = insert(InboxEvent).values(rows).on_conflict_do_nothing(index_elements=[InboxEvent.event_id])
    return set(await session.scalars(statement.returning(InboxEvent.event_id)))


async def _claim(session: AsyncSession, event: CloudEvent, topic: str, outcome: str, error: str | None = None) -> bool:
    """Record the event in the inbox. False when it was processed before (a duplicate)."""
    return bool(await _claim_rows(session, [_inbox_row(event, topic, outcome, error)]))


def _read(record: ConsumerRecord) -> CloudEvent | str:
    """The record's event, or why it is unreadable."""
    try:
        return CloudEvent.model_validate(json.loads(record.value))
    except (ValueError, TypeError, ValidationError) as exc:  # TypeError: a record without a value
        return repr(exc)


# The most records of one partition handled in one transaction: the batch holds its inbox rows and
# its handlers' locks until it commits.
BATCH_LIMIT = 200


@dataclass(frozen=True)
class _BatchOutcome:
    committed: bool
    # Rolled back because this record's handler failed deterministically (not transiently, not the fence).
    failed_offset: int | None = None


@dataclass
class _Waiting:
    """A partition paused after transient failures of the record at `offset`."""

    offset: int
    failures: int
    resume_at: float  # time.monotonic()


class EventConsumer:
    """Consumes `topics`, dispatching each event to `handlers[event.type]` exactly once in effect."""

    def __init__(
        self,
        *,
        service: str,
        bootstrap_servers: str,
        session_factory: async_sessionmaker[AsyncSession],
        topics: tuple[str, ...],
        handlers: dict[str, EventHandler],
        max_attempts: int = 3,
        leases: LeaseKeeper | None = None,
    ):
        """Without `leases` the consumer is the only one and takes every partition of `topics`."""
        self._service = service
        self._bootstrap = bootstrap_servers
        self._sessions = session_factory
        self._topics = topics
        self._handlers = handlers
        self._max_attempts = max_attempts
        self._consumer: AIOKafkaConsumer | None = None
        self._rewind = asyncio.Event()
        self._waiting: dict[TopicPartition, _Waiting] = {}
        self._leases = leases
        self._assigned: dict[TopicPartition, int | None] = {}  # partition -> lease epoch
        self._high_water_at = 0.0  # time.monotonic() of the last high-water write

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=100,
        )
        await self._consumer.start()
        await self.assign_from_stored_offsets()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    def _wanted(self) -> dict[TopicPartition, int | None]:
        """The partitions this consumer should read: those it holds a lease on, with the epoch."""
        assert self._consumer is not None
        if self._leases is None:
            partitions = {topic: sorted(self._consumer.partitions_for_topic(topic) or ()) for topic in self._topics}
            return {TopicPartition(topic, p): None for topic, numbers in partitions.items() for p in numbers}
        wanted: dict[TopicPartition, int | None] = {}
        for resource, epoch in self._leases.held(PARTITION).items():
            topic, partition = resource.rsplit(":", 1)
            wanted[TopicPartition(topic, int(partition))] = epoch
        return wanted

    async def assign_from_stored_offsets(self) -> None:
        """Assign the partitions held and seek each to its stored offset (a partition kept across a
        change is sought to where its last commit left it, which is where it was)."""
        assert self._consumer is not None
        await self._consumer.topics()  # refreshes metadata
        wanted = self._wanted()
        self._consumer.assign(list(wanted))
        self._waiting = {tp: w for tp, w in self._waiting.items() if tp in wanted and wanted[tp] == self._assigned.get(tp)}
        self._assigned = wanted
        async with self._sessions() as session:
            stored = {
                (row.topic, row.partition): row.next_offset
                for row in (await session.execute(ConsumerOffset.__table__.select())).all()
            }
        for tp in wanted:
            self._consumer.seek(tp, stored.get((tp.topic, tp.partition), 0))
        if self._waiting:
            self._consumer.pause(*self._waiting)  # still waiting out their back-off
        log.info("consumer_assigned", partitions=sorted(f"{tp.topic}:{tp.partition}" for tp in wanted))

    def request_rewind(self) -> None:
        """The broker lost its log: the run loop will read everything again (the inbox dedupes)."""
        self._rewind.set()

    async def _rewind_to_beginning(self) -> None:
        self._rewind.clear()
        mine = [(tp.topic, tp.partition) for tp in self._assigned]
        if mine:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    delete(ConsumerOffset).where(func.row(ConsumerOffset.topic, ConsumerOffset.partition).in_(mine))
                )
        await self.assign_from_stored_offsets()

    async def _follow_leases(self) -> None:
        """Re-assign when the partitions held changed (taken, given back, or re-taken at a new epoch)."""
        if self._leases is None or not self._leases.changed.is_set():
            return
        self._leases.changed.clear()
        if self._wanted() != self._assigned:
            await self.assign_from_stored_offsets()

    async def run(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        while not stop.is_set():
            try:
                if self._rewind.is_set():
                    await self._rewind_to_beginning()
                await self._follow_leases()
                self._resume_waited_partitions()
                if not self._assigned:
                    await asyncio.sleep(0.1)
                    continue
                await self._record_high_water()  # from earlier fetches; never between a fetch and its records
                batches = await self._consumer.getmany(timeout_ms=100, max_records=500)
            except Exception as exc:
                log.warning("consumer_fetch_failed", error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            for tp, records in batches.items():
                await self._consume_partition(tp, records)

    async def _record_high_water(self) -> None:
        """Every few seconds, store the high-water marks fetch responses gave for our partitions."""
        assert self._consumer is not None
        if time.monotonic() - self._high_water_at < HIGH_WATER_EVERY_SECONDS:
            return
        self._high_water_at = time.monotonic()
        rows = [
            {"topic": tp.topic, "partition": tp.partition, "high_water": mark}
            for tp in self._assigned
            if (mark := self._consumer.highwater(tp)) is not None
        ]
        if rows:
            statement = insert(PartitionHighWater).values(rows)
            async with self._sessions() as session, session.begin():
                await session.execute(
                    statement.on_conflict_do_update(
                        index_elements=[PartitionHighWater.topic, PartitionHighWater.partition],
                        set_={"high_water": statement.excluded.high_water, "seen_at": func.now()},
                    )
                )

    def _resume_waited_partitions(self) -> None:
        assert self._consumer is not None  # called from run(), after start() made it
        now = time.monotonic()
        due = [tp for tp, waiting in self._waiting.items() if waiting.resume_at <= now and tp in self._consumer.paused()]
        if due:
            self._consumer.resume(*due)

    async def _consume_partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        """Handle a partition's fetched records in order, up to BATCH_LIMIT of them per transaction.
        A batch that fails is rolled back whole and its records are handled one per transaction, so
        that a poison event is dead-lettered alone and a transient failure waits on its own record.
        Stops at a record that must wait, or when the partition moved: the rest comes again after
        the seek."""
        waiting = self._waiting.get(tp)
        if waiting is not None and records and records[0].offset == waiting.offset:
            # Back from a transient failure's wait: that record alone first, it may well fail again.
            if tp not in self._assigned or not await self.process(records[0]):
                return
            records = records[1:]
        for start in range(0, len(records), BATCH_LIMIT):
            batch = records[start : start + BATCH_LIMIT]
            if tp not in self._assigned:
                return
            outcome = await self._process_batch(tp, batch) if len(batch) > 1 else _BatchOutcome(committed=False)
            if outcome.committed:
                continue
            for record in batch:
                tried = 1 if record.offset == outcome.failed_offset else 0
                if tp not in self._assigned or not await self.process(record, tried=tried):
                    return

    async def _process_batch(self, tp: TopicPartition, records: list[ConsumerRecord]) -> _BatchOutcome:
        """Effects, inbox rows and the offset of consecutive records of one partition in one
        transaction: one fence, one inbox statement for all, the handlers in record order (so one
        customer's events stay in order), one offset write. Rolled back whole if anything fails."""
        events = [_read(record) for record in records]
        rows = [
            _inbox_row(event, record.topic, "handled" if event.type in self._handlers else "ignored")
            for record, event in zip(records, events, strict=True)
            if isinstance(event, CloudEvent)
        ]
        running: ConsumerRecord | None = None
        try:
            async with self._sessions() as session, session.begin():
                await self._fence(session, records[0])
                claimed = await _claim_rows(session, rows) if rows else set()
                for record, event in zip(records, events, strict=True):
                    if isinstance(event, str):
                        await self._queue_unreadable(session, record, event)
                        continue
                    handler = self._handlers.get(event.type)
                    if handler is None or event.id not in claimed:
                        continue  # ignored, or processed before (or earlier in this batch)
                    claimed.discard(event.id)
                    running = record
                    await handler(session, event)
                    # Each handler sees the database, not objects an earlier handler left in the session.
                    await session.flush()
                    session.expunge_all()
                running = None
                await run_deferred(session)
                await _record_offset(session, records[-1])
        except LeaseLost:
            self._drop(tp)
            return _BatchOutcome(committed=False)
        except Exception as exc:
            log.info(
                "event_batch_rolled_back",
                topic=tp.topic,
                partition=tp.partition,
                first_offset=records[0].offset,
                records=len(records),
                failed_offset=running and running.offset,
                error=repr(exc),
            )
            # A deterministic failure of a handler counts as that event's first attempt.
            deterministic = running is not None and not is_transient(exc)
            return _BatchOutcome(committed=False, failed_offset=running.offset if running and deterministic else None)
        self._waiting.pop(tp, None)
        return _BatchOutcome(committed=True)

    async def process(self, record: ConsumerRecord, *, tried: int = 0) -> bool:
        """Handle one record: effect + inbox row + offset in one transaction, or dead-letter it.
        False when it failed transiently: its partition is paused and sought back to it. `tried`:
        attempts its handler already failed deterministically (in a batch)."""
        tp = TopicPartition(record.topic, record.partition)
        try:
            await self._process(record, tried)
        except LeaseLost:
            self._drop(tp)
            return False
        except Exception as exc:  # transient (a deterministic failure was dead-lettered inside)
            self._wait(tp, record, exc)
            return False
        self._waiting.pop(tp, None)
        return True

    def _drop(self, tp: TopicPartition) -> None:
        """Another worker took this partition: stop reading it (its effect was rolled back)."""
        log.warning("partition_lease_lost", topic=tp.topic, partition=tp.partition)
        assert self._leases is not None
        self._leases.forget(partition_resource(tp.topic, tp.partition))
        self._assigned.pop(tp, None)
        self._waiting.pop(tp, None)
        assert self._consumer is not None
        self._consumer.pause(tp)  # until the re-assignment drops it

    async def _fence(self, session: AsyncSession, record: ConsumerRecord) -> None:
        """First statement of every transaction that stores an offset: the partition must still be ours."""
        if self._leases is not None:
            epoch = self._assigned.get(TopicPartition(record.topic, record.partition))
            if epoch is None:
                raise LeaseLost(partition_resource(record.topic, record.partition))
            await hold(session, partition_resource(record.topic, record.partition), self._leases.worker_id, epoch)

    def _wait(self, tp: TopicPartition, record: ConsumerRecord, exc: Exception) -> None:
        """Leave the record unconsumed and try it again later; the other partitions keep going."""
        previous = self._waiting.get(tp)
        failures = previous.failures + 1 if previous and previous.offset == record.offset else 1
        delay = consumer_retry_delay(failures)
        self._waiting[tp] = _Waiting(record.offset, failures, time.monotonic() + delay)
        assert self._consumer is not None
        self._consumer.pause(tp)
        self._consumer.seek(tp, record.offset)
        log.warning(
            "event_waiting_transient_failure",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            failures=failures,
            retry_in_seconds=delay,
            error=repr(exc),
        )

    async def _process(self, record: ConsumerRecord, tried: int) -> None:
        event = _read(record)
        if isinstance(event, str):
            await self._dead_letter_unreadable(record, event)
            return
        handler = self._handlers.get(event.type)
        try:
            async for attempt in AsyncRetrying(
                retry=retry_if_exception(lambda exc: not is_transient(exc) and not isinstance(exc, LeaseLost)),
                # At least one attempt alone: a failure in a batch might have come from the batch.
                stop=stop_after_attempt(max(1, self._max_attempts - tried)),
                wait=wait_exponential(multiplier=0.1, max=2),
                reraise=True,
            ):
                with attempt:
                    async with self._sessions() as session, session.begin():
                        await self._fence(session, record)
                        if await _claim(session, event, record.topic, "handled" if handler else "ignored") and handler:
                            await handler(session, event)
                            await run_deferred(session)
                        await _record_offset(session, record)
        except Exception as exc:
            if is_transient(exc) or isinstance(exc, LeaseLost):
                raise
            await self._dead_letter(record, event, repr(exc))

    async def _dead_letter(self, record: ConsumerRecord, event: CloudEvent, error: str) -> None:
        log.error("event_dead_lettered", event_id=event.id, event_type=event.type, error=error)
        async with self._sessions() as session, session.begin():
            await self._fence(session, record)
            if await _claim(session, event, record.topic, "dead_lettered", error):
                await add_event(
                    session,
                    source=self._service,
                    topic=dead_letter_topic(record.topic),
                    event_type=event.type,
                    customer_id=event.subject,
                    data=DeadLetterData(event=event.model_dump(mode="json"), error=error, consumer=self._service),
                    business_time=event.time,
                    clock_id=event.tenureclock,
                )
            await _record_offset(session, record)

    async def _dead_letter_unreadable(self, record: ConsumerRecord, error: str) -> None:
        async with self._sessions() as session, session.begin():
            await self._fence(session, record)
            await self._queue_unreadable(session, record, error)
            await _record_offset(session, record)

    async def _queue_unreadable(self, session: AsyncSession, record: ConsumerRecord, error: str) -> None:
        """Copy a record that is no event to `<topic>.dlq`, in the caller's transaction."""
        log.error("unreadable_event", topic=record.topic, offset=record.offset, error=error)
        raw = record.value.decode(errors="replace") if record.value else None
        await add_event(
            session,
            source=self._service,
            topic=dead_letter_topic(record.topic),
            event_type=UNREADABLE_EVENT_TYPE,
            customer_id=(record.key or b"unknown").decode(errors="replace"),
            data=UnreadableRecordData(raw=raw, error=error, consumer=self._service),
            business_time=real_now(),
            clock_id=None,
        )
