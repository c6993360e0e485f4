"""Idempotent consumption: an inbox of processed event ids, written in the same transaction as the
handler's effect, together with the consumed offset.

Partitions are assigned by the consumer itself (no consumer group) and the offsets live in
PostgreSQL beside the inbox: one active worker per service consumes every partition, restarts
resume at once without a group rebalance, and an effect and its offset commit together.
A handler that keeps failing is retried a bounded number of times, then the event is recorded as
dead-lettered and copied to `<topic>.dlq` (through the outbox, in the same transaction).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import BigInteger, DateTime, Integer, String, Text, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from tenure_shared.clock import real_now
from tenure_shared.db import Base
from tenure_shared.events import CloudEvent, dead_letter_topic
from tenure_shared.outbox import add_event

log = structlog.get_logger()

# Failures of the database connection itself, as opposed to a handler that cannot do its job.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, OSError, ConnectionError)

EventHandler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


class InboxEvent(Base):
    __tablename__ = "inbox_events"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    topic: Mapped[str] = mapped_column(String)
    event_type: Mapped[str] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    outcome: Mapped[str] = mapped_column(String)  # handled | ignored | dead_lettered
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ConsumerOffset(Base):
    __tablename__ = "consumer_offsets"

    topic: Mapped[str] = mapped_column(String, primary_key=True)
    partition: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_offset: Mapped[int] = mapped_column(BigInteger)


async def _record_offset(session: AsyncSession, record: ConsumerRecord) -> None:
    statement = insert(ConsumerOffset).values(topic=record.topic, partition=record.partition, next_offset=record.offset + 1)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[ConsumerOffset.topic, ConsumerOffset.partition],
            set_={"next_offset": statement.excluded.next_offset},
        )
    )


async def _claim(session: AsyncSession, event: CloudEvent, topic: str, outcome: str, error: str | None = None) -> bool:
    """Record the event in the inbox. False when it was processed before (a duplicate)."""
    statement = (
        insert(InboxEvent)
        .values(event_id=event.id, topic=topic, event_type=event.type, clock_id=event.tenureclock, outcome=outcome, error=error)
        .on_conflict_do_nothing(index_elements=[InboxEvent.event_id])
        .returning(InboxEvent.event_id)
    )
    return (await session.execute(statement)).first() is not None


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
    ):
        self._service = service
        self._bootstrap = bootstrap_servers
        self._sessions = session_factory
        self._topics = topics
        self._handlers = handlers
        self._max_attempts = max_attempts
        self._consumer: AIOKafkaConsumer | None = None
        self._rewind = asyncio.Event()

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

    async def assign_from_stored_offsets(self) -> None:
        assert self._consumer is not None
        await self._consumer.topics()  # refreshes metadata
        partitions = [
            TopicPartition(topic, p) for topic in self._topics for p in sorted(self._consumer.partitions_for_topic(topic) or ())
        ]
        self._consumer.assign(partitions)
        async with self._sessions() as session:
            stored = {
                (row.topic, row.partition): row.next_offset
                for row in (await session.execute(ConsumerOffset.__table__.select())).all()
            }
        for tp in partitions:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                self._consumer.seek(tp, 0)
            else:
                self._consumer.seek(tp, offset)

    def request_rewind(self) -> None:
        """The broker lost its log: the run loop will read everything again (the inbox dedupes)."""
        self._rewind.set()

    async def _rewind_to_beginning(self) -> None:
        async with self._sessions() as session, session.begin():
            await session.execute(delete(ConsumerOffset))
        await self.assign_from_stored_offsets()
        self._rewind.clear()

    async def run(self, stop: asyncio.Event) -> None:
        assert self._consumer is not None
        while not stop.is_set():
            try:
                if self._rewind.is_set():
                    await self._rewind_to_beginning()
                batches = await self._consumer.getmany(timeout_ms=100, max_records=500)
            except Exception as exc:
                log.warning("consumer_fetch_failed", error=repr(exc))
                await asyncio.sleep(0.5)
                continue
            for records in batches.values():
                for record in records:
                    await self.process(record)

    async def process(self, record: ConsumerRecord) -> None:
        """Handle one record: effect + inbox row + offset in one transaction, or dead-letter it."""
        try:
            event = CloudEvent.model_validate(json.loads(record.value))
        except (ValueError, ValidationError) as exc:
            await self._dead_letter_unreadable(record, repr(exc))
            return
        handler = self._handlers.get(event.type)
        while True:
            try:
                await self._handle(record, event, handler)
                return
            except INFRASTRUCTURE_ERRORS as exc:
                # The database is away: waiting is right, dead-lettering would lose the event.
                log.warning("consumer_waiting_for_database", error=repr(exc))
                await asyncio.sleep(1.0)

    async def _handle(self, record: ConsumerRecord, event: CloudEvent, handler: EventHandler | None) -> None:
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_attempts), wait=wait_exponential(multiplier=0.1, max=2), reraise=True
            ):
                with attempt:
                    async with self._sessions() as session, session.begin():
                        if await _claim(session, event, record.topic, "handled" if handler else "ignored") and handler:
                            await handler(session, event)
                        await _record_offset(session, record)
        except INFRASTRUCTURE_ERRORS:
            raise
        except Exception as exc:
            log.error("event_dead_lettered", event_id=event.id, event_type=event.type, error=repr(exc))
            async with self._sessions() as session, session.begin():
                if await _claim(session, event, record.topic, "dead_lettered", repr(exc)):
                    await add_event(
                        session,
                        source=self._service,
                        topic=dead_letter_topic(record.topic),
                        event_type=event.type,
                        customer_id=event.subject,
                        data={"event": event.model_dump(mode="json"), "error": repr(exc), "consumer": self._service},
                        business_time=event.time,
                        clock_id=event.tenureclock,
                    )
                await _record_offset(session, record)

    async def _dead_letter_unreadable(self, record: ConsumerRecord, error: str) -> None:
        log.error("unreadable_event", topic=record.topic, offset=record.offset, error=error)
        async with self._sessions() as session, session.begin():
            raw: Any = record.value.decode(errors="replace") if record.value else None
            await add_event(
                session,
                source=self._service,
                topic=dead_letter_topic(record.topic),
                event_type="tenure.unreadable",
                customer_id=(record.key or b"unknown").decode(errors="replace"),
                data={"raw": raw, "error": error, "consumer": self._service},
                business_time=real_now(),
                clock_id=None,
            )
            await _record_offset(session, record)
