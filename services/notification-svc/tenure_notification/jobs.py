"""notification-svc's due work (real time only): webhook delivery attempts and email sends."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_notification import service
from tenure_notification.config import get_settings
from tenure_shared.due_work import JobHandler, ScheduledJob

# One client for the process: connections to an endpoint are reused across deliveries; never
# follow redirects (a redirect could lead to an address the URL check refused).
_webhook_http: httpx.AsyncClient | None = None


def webhook_http() -> httpx.AsyncClient:
    global _webhook_http
    if _webhook_http is None:
        _webhook_http = httpx.AsyncClient(follow_redirects=False, headers={"user-agent": "Tenure-Webhooks/1"})
    return _webhook_http


async def deliver_webhook(session: AsyncSession, job: ScheduledJob) -> None:
    await service.attempt_delivery(session, delivery_id=job.payload["delivery_id"], http=webhook_http(), settings=get_settings())


async def send_email(session: AsyncSession, job: ScheduledJob) -> None:
    await service.send_email(session, email_id=job.payload["email_id"], settings=get_settings())


JOB_HANDLERS: dict[str, JobHandler] = {service.DELIVER_WEBHOOK: deliver_webhook, service.SEND_EMAIL: send_email}
