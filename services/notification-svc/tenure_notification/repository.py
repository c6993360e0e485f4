"""All of notification-svc's queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_notification.errors import WebhookDeliveryNotFound, WebhookEndpointNotFound
from tenure_notification.models import (
    CustomerAccount,
    Email,
    EmailSetting,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenure_notification.statuses import DeliveryStatus, EndpointStatus
from tenure_shared.customer_copies import upsert_customer_copy
from tenure_shared.events import CustomerData
from tenure_shared.pagination import Page, paginate


async def upsert_customer(session: AsyncSession, customer: CustomerData) -> None:
    await upsert_customer_copy(session, CustomerAccount, customer, email=customer.email, name=customer.name)


async def get_endpoint(session: AsyncSession, endpoint_id: str, *, for_update: bool = False) -> WebhookEndpoint:
    endpoint = await session.get(WebhookEndpoint, endpoint_id, with_for_update=for_update)
    if endpoint is None or endpoint.deleted:
        raise WebhookEndpointNotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


async def list_endpoints(session: AsyncSession, page: Page) -> tuple[list[WebhookEndpoint], bool]:
    statement = select(WebhookEndpoint).where(WebhookEndpoint.deleted.is_(False))
    return await paginate(session, statement, WebhookEndpoint.id, page)


async def enabled_endpoints(session: AsyncSession) -> list[WebhookEndpoint]:
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.status == EndpointStatus.ENABLED, WebhookEndpoint.deleted.is_(False)
    )
    return list((await session.scalars(statement)).all())


async def add_delivery(session: AsyncSession, **values: Any) -> bool:
    """Insert the delivery unless this endpoint already has one for the event. True if inserted."""
    statement = insert(WebhookDelivery).values(**values).on_conflict_do_nothing(constraint="uq_webhook_delivery_event")
    return (await session.execute(statement.returning(WebhookDelivery.id))).first() is not None


async def get_delivery(session: AsyncSession, delivery_id: str, *, for_update: bool = False) -> WebhookDelivery:
    delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=for_update)
    if delivery is None:
        raise WebhookDeliveryNotFound(f"No webhook delivery {delivery_id}.")
    return delivery


async def list_deliveries(
    session: AsyncSession, page: Page, *, endpoint_id: str, event_id: str | None, status: str | None
) -> tuple[list[WebhookDelivery], bool]:
    filters = {WebhookDelivery.endpoint_id: endpoint_id, WebhookDelivery.event_id: event_id, WebhookDelivery.status: status}
    return await paginate(session, select(WebhookDelivery), WebhookDelivery.id, page, filters=filters)


async def due_delivery_ids(session: AsyncSession, *, now: datetime, limit: int, excluding: list[str]) -> list[str]:
    statement = (
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            WebhookDelivery.id.not_in(excluding),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list((await session.scalars(statement)).all())


async def lock_due_delivery(session: AsyncSession, delivery_id: str, *, now: datetime) -> WebhookDelivery | None:
    """The delivery, locked, if it is still due and nobody else is sending it."""
    statement = select(WebhookDelivery).where(
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.status == DeliveryStatus.PENDING,
        WebhookDelivery.next_attempt_at <= now,
    )
    return await session.scalar(statement.with_for_update(skip_locked=True))


async def attempts_of(session: AsyncSession, delivery_ids: list[str]) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    statement = select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids)).order_by(WebhookAttempt.id)
    for attempt in (await session.scalars(statement)).all():
        found[attempt.delivery_id].append(attempt)
    return found


async def email_settings(session: AsyncSession) -> dict[str, bool]:
    """Only the templates switched by hand; the others are on."""
    return {row.template: row.enabled for row in (await session.scalars(select(EmailSetting))).all()}


async def set_email_setting(session: AsyncSession, template: str, enabled: bool) -> None:
    statement = insert(EmailSetting).values(template=template, enabled=enabled)
    await session.execute(statement.on_conflict_do_update(index_elements=[EmailSetting.template], set_={"enabled": enabled}))


async def add_email(session: AsyncSession, **values: Any) -> bool:
    """Insert the email unless this event already wrote one with this template. True if inserted."""
    statement = insert(Email).values(**values).on_conflict_do_nothing(constraint="uq_email_event_template")
    return (await session.execute(statement.returning(Email.id))).first() is not None


async def get_email(session: AsyncSession, email_id: str, *, for_update: bool = False) -> Email | None:
    return await session.get(Email, email_id, with_for_update=for_update)


async def list_emails(
    session: AsyncSession, page: Page, *, customer_id: str | None, template: str | None, status: str | None, event_id: str | None
) -> tuple[list[Email], bool]:
    filters = {Email.customer_id: customer_id, Email.template: template, Email.status: status, Email.event_id: event_id}
    return await paginate(session, select(Email), Email.id, page, filters=filters)
