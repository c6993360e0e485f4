"""notification-svc's reaction to every public event: webhooks to the subscribed endpoints and the
customer's email, if the event sends one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from tenure_notification import repository, service
from tenure_notification.config import get_settings
from tenure_notification.email_templates import EMAIL_TRIGGERS
from tenure_notification.event_catalog import PUBLIC_EVENT_TYPES, TEST_EVENT_TYPE
from tenure_shared.consumer import EventHandler
from tenure_shared.events import CloudEvent, CustomerData
from tenure_shared.internal_http import internal_client

CUSTOMER_EVENTS = ("customer.created", "customer.updated")


async def on_event(session: AsyncSession, event: CloudEvent) -> None:
    if event.type in CUSTOMER_EVENTS:
        await repository.upsert_customer(session, CustomerData.model_validate(event.data))
    await service.fan_out(session, event)
    settings = get_settings()
    await service.email_for_event(session, event, internal=internal_client(settings), settings=settings)


# Every public type and every type that sends an email; the rest (internal instructions) is ignored.
HANDLERS: dict[str, EventHandler] = dict.fromkeys((set(PUBLIC_EVENT_TYPES) | set(EMAIL_TRIGGERS)) - {TEST_EVENT_TYPE}, on_event)
