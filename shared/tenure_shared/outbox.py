"""Transactional outbox: events are written in the same transaction as the state change, and a
relay sends them to Kafka afterwards.

The relay polls for unsent rows rather than tailing by id: bigserial ids are issued at insert, not
at commit, so a lower id can become visible after a higher one.

Rows are sharded by key (OUTBOX_SHARDS, a stable hash of the customer id): each shard is relayed
by the one worker holding its lease (`tenure_shared.leases`), in id order, so several relays keep
one customer's events in order.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel
from sqlalchemy import BigInteger, CursorResult, DateTime, Identity, Index, SmallInteger, String, func, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.clock import real_now
from tenure_shared.db import Base
from tenure_shared.events import CloudEvent, check_payload
from tenure_shared.ids import new_id
from tenure_shared.leases import OUTBOX, LeaseKeeper, held_now, outbox_resource

log = structlog.get_logger()

# Committing an outbox row notifies this channel, so the relay wakes at once instead of polling.
OUTBOX_CHANNEL = "tenure_outbox"
# CloudEvents Kafka binding, structured mode: the whole envelope is the value.
RECORD_HEADERS = [("content-type", b"application/cloudevents+json")]
OUTBOX_SHARDS = 8
# session.info key: the transaction whose channels were notified already, and those channels.
_NOTIFIED = "tenure_notified_channels"


def outbox_shard(key: str) -> int:
    """The shard of a key: stable across processes and releases (crc32, not Python's salted hash)."""
    return zlib.crc32(key.encode()) % OUTBOX_SHARDS


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_unsent", "shard", "id", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String, unique=True)
    topic: Mapped[str] = mapped_column(String)
    key: Mapped[str] = mapped_column(String)
    shard: Mapped[int] = mapped_column(SmallInteger, default=0)
    event_type: Mapped[str] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    envelope: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


async def add_event(
    session: AsyncSession,
    *,
    source: str,
    topic: str,
    event_type: str,
    customer_id: str,
    data: BaseModel,
    business_time: datetime,
    clock_id: str | None,
) -> CloudEvent:
    """Queue an event in the caller's transaction; it leaves only if that transaction commits.
    `data` must be the payload model `EVENT_PAYLOADS` names for `event_type` (on a dead-letter
    topic: `DeadLetterData` or `UnreadableRecordData`)."""
    check_payload(topic, event_type, data)
    payload = data.model_dump(mode="json")
    event = CloudEvent(
        id=new_id("evt"),
        type=event_type,
        source=source,
        subject=customer_id,
        time=business_time,
        tenureclock=clock_id,
        data=payload,
    )
    session.add(
        OutboxMessage(
            event_id=event.id,
            topic=topic,
            key=customer_id,
            shard=outbox_shard(customer_id),
            event_type=event_type,
            clock_id=clock_id,
            envelope=event.model_dump(mode="json", exclude_none=True),
        )
    )
    # Delivered only if the transaction commits; repeats within one transaction are folded into one.
    await notify(session, OUTBOX_CHANNEL)
    return event


async def notify(session: AsyncSession, channel: str) -> None:
    """Wake whoever listens on `channel` once this transaction commits. PostgreSQL folds repeats
    within a transaction into one notification, so the statement is sent once per channel and
    transaction (a consumer batch writing 600 events makes one round trip for them, not 600).
    Inside a savepoint it is always sent: rolling the savepoint back takes its notification along."""
    sync_session = session.sync_session
    transaction = sync_session.get_transaction()
    if transaction is None or sync_session.in_nested_transaction():
        await session.execute(select(func.pg_notify(channel, "")))
        return
    notified_in, channels = sync_session.info.get(_NOTIFIED, (None, set()))
    if notified_in is not transaction:
        channels = set()
        sync_session.info[_NOTIFIED] = (transaction, channels)
    if channel not in channels:
        await session.execute(select(func.pg_notify(channel, "")))
        channels.add(channel)


class OutboxRelay:
    """Sends unsent rows of the shards it holds in id order, many at once, and marks them sent in
    one transaction once the broker acknowledged them all. Without `leases` it is the only relay
    and sends every shard."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 500,
        leases: LeaseKeeper | None = None,
    ):
        self._sessions = session_factory
        self._producer = producer
        self._batch_size = batch_size
        self._leases = leases

    async def relay_once(self) -> int:
        """Send one batch. Returns how many rows were sent."""
        async with self._sessions() as session, session.begin():
            unsent = select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            if self._leases is not None:
                # Fenced: the share lock keeps our shards ours until these rows are marked sent.
                held = self._leases.held(OUTBOX)
                shards = [int(r.split(":")[1]) for r in await held_now(session, self._leases.worker_id, held)]
                if not shards:
                    return 0
                unsent = unsent.where(OutboxMessage.shard.in_(shards))
            rows = (await session.scalars(unsent.order_by(OutboxMessage.id).limit(self._batch_size).with_for_update())).all()
            if not rows:
                return 0
            pending = [
                await self._producer.send(
                    row.topic, key=row.key.encode(), value=json.dumps(row.envelope).encode(), headers=RECORD_HEADERS
                )
                for row in rows
            ]
            await asyncio.gather(*pending)
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows])).values(published_at=real_now())
            )
            return len(rows)

    async def run(self, stop: asyncio.Event, wake: asyncio.Event, *, poll_seconds: float) -> None:
        """Relay until `stop`. Idle, it waits for `wake` (set by an outbox notification) or, should a
        notification be missed, at most `poll_seconds`."""
        error_delay = 0.2
        while not stop.is_set():
            wake.clear()  # before looking, so a row committed while we look wakes the next wait
            try:
                sent = await self.relay_once()
                error_delay = 0.2
            except Exception as exc:  # broker or database away: keep the rows, try again later
                log.warning("outbox_relay_failed", error=repr(exc))
                await first_of(stop, timeout=error_delay)
                error_delay = min(error_delay * 2, 5.0)
                continue
            if not sent:
                await first_of(stop, wake, timeout=poll_seconds)

    async def republish_since(self, cutoff: datetime) -> int:
        """Mark rows sent after `cutoff` unsent again: the broker lost them. Consumers dedupe."""
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxMessage).where(OutboxMessage.published_at >= cutoff).values(published_at=None)
            )
            return cast(CursorResult[Any], result).rowcount or 0  # an UPDATE's result is a CursorResult


async def first_of(*events: asyncio.Event, timeout: float) -> None:
    """Wait until any of the events is set, or `timeout` seconds."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()


def outbox_resources() -> list[str]:
    return [outbox_resource(shard) for shard in range(OUTBOX_SHARDS)]


def republish_cutoff(hours: int) -> datetime:
    return real_now() - timedelta(hours=hours)
