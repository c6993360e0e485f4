"""notification-svc's real-time work: webhook deliveries (a loop of their own, several at once, so
one slow receiver does not hold up the others) and email sends (due-work jobs)."""

from __future__ import annotations

import asyncio

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenure_notification import repository, service
from tenure_notification.config import get_settings
from tenure_shared.clock import real_now
from tenure_shared.due_work import JobHandler, ScheduledJob

log = structlog.get_logger()
# Deliveries attempted at once; each waits at most 10 s for its receiver.
CONCURRENT_DELIVERIES = 20

# One client for the process: connections to an endpoint are reused across deliveries; never
# follow redirects (a redirect could lead to an address the URL check refused).
_webhook_http: httpx.AsyncClient | None = None


def webhook_http() -> httpx.AsyncClient:
    global _webhook_http
    if _webhook_http is None:
        _webhook_http = httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "Tenure-Webhooks/1"})
    return _webhook_http


async def _deliver_one(sessions: async_sessionmaker[AsyncSession], delivery_id: str) -> None:
    """One attempt in its own transaction; the row lock keeps it from being sent twice at once."""
    async with sessions() as session, session.begin():
        delivery = await repository.lock_due_delivery(session, delivery_id, now=real_now())
        if delivery is not None:
            await service.attempt_delivery(session, delivery=delivery, http=webhook_http(), settings=get_settings())


async def deliver_due_webhooks(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Attempt every delivery that is due, up to CONCURRENT_DELIVERIES at once, each in a task of its
    own: a receiver that hangs for its 10 s holds up only its own delivery. Returns when nothing is
    in flight (the worker runs this when a delivery is queued, see service.WEBHOOK_CHANNEL, and every
    second)."""
    in_flight: dict[str, asyncio.Task] = {}
    while True:
        if free := CONCURRENT_DELIVERIES - len(in_flight):
            async with sessions() as session:
                due = await repository.due_delivery_ids(session, now=real_now(), limit=free, excluding=list(in_flight))
            for delivery_id in due:
                in_flight[delivery_id] = asyncio.create_task(_deliver_one(sessions, delivery_id))
        if not in_flight:
            return
        # Look again soon for newly due deliveries, and as soon as a slot frees up.
        done, _ = await asyncio.wait(in_flight.values(), timeout=0.2, return_when=asyncio.FIRST_COMPLETED)
        for delivery_id, task in list(in_flight.items()):
            if task in done:
                del in_flight[delivery_id]
                if task.exception() is not None:
                    log.warning("webhook_delivery_failed", delivery_id=delivery_id, error=repr(task.exception()))


async def send_email(session: AsyncSession, job: ScheduledJob) -> None:
    await service.send_email(session, email_id=job.payload["email_id"], settings=get_settings())


JOB_HANDLERS: dict[str, JobHandler] = {service.SEND_EMAIL: send_email}
