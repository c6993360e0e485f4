"""notification-svc's public routes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from tenure_notification import repository, service
from tenure_notification.config import get_settings
from tenure_notification.event_catalog import PUBLIC_EVENT_TYPES
from tenure_notification.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tenure_notification.schemas import (
    AttemptOut,
    DeliveryOut,
    EmailOut,
    EmailSettingsOut,
    EmailSettingsPatch,
    EndpointIn,
    EndpointOut,
    EndpointPatch,
    EventTypeOut,
    ListOut,
)
from tenure_shared.app import DbSession
from tenure_shared.auth import require_admin
from tenure_shared.events import SCHEMA_VERSION, public_schema
from tenure_shared.pagination import Page, page_params

router = APIRouter()
# Webhook endpoints hold signing secrets, and email settings are account-wide: admin keys only.
ADMIN = [Depends(require_admin)]


def endpoint_out(endpoint: WebhookEndpoint, *, with_secret: bool = False) -> EndpointOut:
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        event_types=endpoint.event_types,
        description=endpoint.description,
        status=endpoint.status,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
        secret=endpoint.secret if with_secret else None,
        previous_secret_expires_at=endpoint.previous_secret_expires_at if with_secret else None,
    )


def delivery_out(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
    return DeliveryOut(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status,
        attempt_count=delivery.attempt_count,
        next_attempt_at=delivery.next_attempt_at,
        created_at=delivery.created_at,
        attempts=[
            AttemptOut(attempted_at=a.attempted_at, status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)
            for a in attempts
        ],
    )


async def _delivery_answer(session: DbSession, delivery: WebhookDelivery) -> DeliveryOut:
    await session.refresh(delivery)
    return delivery_out(delivery, (await repository.attempts_of(session, [delivery.id]))[delivery.id])


# ---- webhooks ---------------------------------------------------------------------------------


@router.get("/event-types", tags=["webhooks"])
async def list_event_types() -> ListOut:
    """The public event types with their payload's JSON schema (the envelope's `data`)."""
    data = [
        EventTypeOut(type=event_type, schema_version=SCHEMA_VERSION, data_schema=public_schema(model))
        for event_type, model in sorted(PUBLIC_EVENT_TYPES.items())
    ]
    return ListOut(data=data, has_more=False)


@router.post("/webhook-endpoints", tags=["webhooks"], status_code=201, dependencies=ADMIN)
async def create_endpoint(body: EndpointIn, session: DbSession) -> EndpointOut:
    endpoint = await service.create_endpoint(session, data=body, settings=get_settings())
    await session.refresh(endpoint)
    return endpoint_out(endpoint, with_secret=True)


@router.get("/webhook-endpoints", tags=["webhooks"], dependencies=ADMIN)
async def list_endpoints(session: DbSession, page: Page = Depends(page_params)) -> ListOut:
    rows, more = await repository.list_endpoints(session, page)
    return ListOut(data=[endpoint_out(e) for e in rows], has_more=more)


@router.get("/webhook-endpoints/{endpoint_id}", tags=["webhooks"], dependencies=ADMIN)
async def get_endpoint(endpoint_id: str, session: DbSession) -> EndpointOut:
    return endpoint_out(await repository.get_endpoint(session, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}", tags=["webhooks"], dependencies=ADMIN)
async def update_endpoint(endpoint_id: str, body: EndpointPatch, session: DbSession) -> EndpointOut:
    return endpoint_out(await service.update_endpoint(session, endpoint_id=endpoint_id, data=body, settings=get_settings()))


@router.delete("/webhook-endpoints/{endpoint_id}", tags=["webhooks"], dependencies=ADMIN)
async def delete_endpoint(endpoint_id: str, session: DbSession) -> dict:
    endpoint = await service.delete_endpoint(session, endpoint_id=endpoint_id)
    return {"id": endpoint.id, "deleted": True}


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret", tags=["webhooks"], dependencies=ADMIN)
async def rotate_secret(endpoint_id: str, session: DbSession) -> EndpointOut:
    """A new secret; the old one keeps signing too (both signatures are sent) for 24 h."""
    return endpoint_out(await service.rotate_secret(session, endpoint_id=endpoint_id), with_secret=True)


@router.post("/webhook-endpoints/{endpoint_id}/test", tags=["webhooks"], status_code=202, dependencies=ADMIN)
async def send_test_event(endpoint_id: str, session: DbSession) -> DeliveryOut:
    """Queue a `webhook.test` event to this endpoint only."""
    return await _delivery_answer(session, await service.send_test_event(session, endpoint_id=endpoint_id))


@router.get("/webhook-endpoints/{endpoint_id}/deliveries", tags=["webhooks"], dependencies=ADMIN)
async def list_deliveries(
    endpoint_id: str,
    session: DbSession,
    event_id: str | None = Query(None),
    status: str | None = Query(None),
    page: Page = Depends(page_params),
) -> ListOut:
    """Every delivery to the endpoint, each with every attempt (status code, error, duration, time)."""
    await repository.get_endpoint(session, endpoint_id)
    rows, more = await repository.list_deliveries(session, page, endpoint_id=endpoint_id, event_id=event_id, status=status)
    attempts = await repository.attempts_of(session, [d.id for d in rows])
    return ListOut(data=[delivery_out(d, attempts[d.id]) for d in rows], has_more=more)


@router.get("/webhook-deliveries/{delivery_id}", tags=["webhooks"], dependencies=ADMIN)
async def get_delivery(delivery_id: str, session: DbSession) -> DeliveryOut:
    return await _delivery_answer(session, await repository.get_delivery(session, delivery_id))


@router.post("/webhook-deliveries/{delivery_id}/retry", tags=["webhooks"], status_code=202, dependencies=ADMIN)
async def retry_delivery(delivery_id: str, session: DbSession) -> DeliveryOut:
    """Send the delivery again now (the worker picks it up within a second)."""
    return await _delivery_answer(session, await service.retry_delivery(session, delivery_id=delivery_id))


# ---- emails -----------------------------------------------------------------------------------


@router.get("/email-settings", tags=["emails"])
async def get_email_settings(session: DbSession) -> EmailSettingsOut:
    return EmailSettingsOut(templates=await service.email_settings(session))


@router.patch("/email-settings", tags=["emails"], dependencies=ADMIN)
async def update_email_settings(body: EmailSettingsPatch, session: DbSession) -> EmailSettingsOut:
    return EmailSettingsOut(templates=await service.update_email_settings(session, templates=body.templates))


@router.get("/emails", tags=["emails"])
async def list_emails(
    session: DbSession,
    customer_id: str | None = Query(None),
    template: str | None = Query(None),
    status: str | None = Query(None),
    event_id: str | None = Query(None),
    page: Page = Depends(page_params),
) -> ListOut:
    rows, more = await repository.list_emails(
        session, page, customer_id=customer_id, template=template, status=status, event_id=event_id
    )
    return ListOut(data=[EmailOut.model_validate(e) for e in rows], has_more=more)
