"""notification-svc's use cases: webhook endpoints and their deliveries, customer emails."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tenure_notification import email_templates, repository, smtp
from tenure_notification.config import NotificationSettings
from tenure_notification.errors import UnknownEmailTemplate, UnknownEventType, WebhookEndpointDisabled, WebhookUrlRefused
from tenure_notification.event_catalog import PUBLIC_EVENT_TYPES, TEST_EVENT_TYPE, WebhookTestData, public_data, subscribed
from tenure_notification.models import (
    CustomerAccount,
    Email,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tenure_notification.retry_schedule import email_retry_delay, parse_retry_after, webhook_retry_delay
from tenure_notification.schemas import EndpointIn, EndpointPatch
from tenure_notification.signing import new_secret, signed_headers
from tenure_notification.statuses import DeliveryStatus, EmailStatus, EndpointStatus
from tenure_notification.webhook_targets import target_problem
from tenure_shared.clock import real_now
from tenure_shared.customer_copies import ensure_customer_copy
from tenure_shared.due_work import schedule_job
from tenure_shared.events import CloudEvent
from tenure_shared.ids import new_id
from tenure_shared.internal_http import InternalClient
from tenure_shared.outbox import notify

# A queued or rescheduled delivery notifies this channel: the worker's delivery loop wakes at once.
WEBHOOK_CHANNEL = "tenure_webhooks"
SEND_EMAIL = "email_send"
# After a rotation the old secret keeps signing beside the new one this long.
SECRET_OVERLAP = timedelta(hours=24)
WEBHOOK_TIMEOUT_SECONDS = 10.0


# ---- webhook endpoints ------------------------------------------------------------------------


def _check_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted({t for t in event_types if t != "*" and (t not in PUBLIC_EVENT_TYPES or t == TEST_EVENT_TYPE)})
    if unknown:
        raise UnknownEventType(f"Not public event types: {', '.join(unknown)} (GET /v1/event-types lists them).")
    return ["*"] if "*" in event_types else sorted(set(event_types))


async def _check_url(url: str, settings: NotificationSettings) -> str:
    problem = await target_problem(url, allow_private=settings.webhooks_allow_private)
    if problem:
        raise WebhookUrlRefused(problem)
    return url


async def create_endpoint(session: AsyncSession, *, data: EndpointIn, settings: NotificationSettings) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        url=await _check_url(data.url, settings),
        event_types=_check_event_types(data.event_types),
        description=data.description,
        status=EndpointStatus.ENABLED,
        secret=new_secret(),
        deleted=False,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


async def update_endpoint(
    session: AsyncSession, *, endpoint_id: str, data: EndpointPatch, settings: NotificationSettings
) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, for_update=True)
    if data.url is not None:
        endpoint.url = await _check_url(data.url, settings)
    if data.event_types is not None:
        endpoint.event_types = _check_event_types(data.event_types)
    if "description" in data.model_fields_set:
        endpoint.description = data.description
    if data.status is not None:
        endpoint.move_to(EndpointStatus(data.status), reason="disabled by hand")
    await session.flush()
    return endpoint


async def delete_endpoint(session: AsyncSession, *, endpoint_id: str) -> WebhookEndpoint:
    """Deleted endpoints get nothing more; their delivery log stays."""
    endpoint = await repository.get_endpoint(session, endpoint_id, for_update=True)
    endpoint.deleted = True
    endpoint.move_to(EndpointStatus.DISABLED, reason="deleted")
    await session.flush()
    return endpoint


async def rotate_secret(session: AsyncSession, *, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await repository.get_endpoint(session, endpoint_id, for_update=True)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = real_now() + SECRET_OVERLAP
    endpoint.secret = new_secret()
    await session.flush()
    return endpoint


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The current secret, and the previous one while its overlap lasts."""
    found = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > real_now():
        found.append(endpoint.previous_secret)
    return found


# ---- deliveries -------------------------------------------------------------------------------


async def _queue_delivery(session: AsyncSession, *, endpoint_id: str, event: CloudEvent) -> str | None:
    delivery_id = new_id("whd")
    added = await repository.add_delivery(
        session,
        id=delivery_id,
        endpoint_id=endpoint_id,
        event_id=event.id,
        event_type=event.type,
        envelope={**event.model_dump(mode="json", exclude_none=True), "data": public_data(event.type, event.data)},
        status=DeliveryStatus.PENDING,
        attempt_count=0,
        next_attempt_at=real_now(),
    )
    if not added:
        return None
    await notify(session, WEBHOOK_CHANNEL)
    return delivery_id


async def fan_out(session: AsyncSession, event: CloudEvent) -> None:
    """Queue one delivery of a public event to every enabled endpoint subscribed to its type."""
    for endpoint in await repository.enabled_endpoints(session):
        if subscribed(endpoint.event_types, event.type):
            await _queue_delivery(session, endpoint_id=endpoint.id, event=event)


async def send_test_event(session: AsyncSession, *, endpoint_id: str) -> WebhookDelivery:
    endpoint = await repository.get_endpoint(session, endpoint_id)
    if endpoint.status != EndpointStatus.ENABLED:
        raise WebhookEndpointDisabled(f"Webhook endpoint {endpoint_id} is disabled.")
    event = CloudEvent(
        id=new_id("evt"),
        type=TEST_EVENT_TYPE,
        source="notification",
        subject=endpoint.id,
        time=real_now(),
        data=WebhookTestData(endpoint_id=endpoint.id, message="A test event from Tenure.").model_dump(),
    )
    delivery_id = await _queue_delivery(session, endpoint_id=endpoint.id, event=event)
    assert delivery_id is not None  # a fresh event id: no delivery of it to this endpoint exists yet
    return await repository.get_delivery(session, delivery_id)


async def retry_delivery(session: AsyncSession, *, delivery_id: str) -> WebhookDelivery:
    """Try a delivery again now, whatever its state (a succeeded one is sent once more)."""
    delivery = await repository.get_delivery(session, delivery_id, for_update=True)
    endpoint = await repository.get_endpoint(session, delivery.endpoint_id)
    if endpoint.status != EndpointStatus.ENABLED:
        raise WebhookEndpointDisabled(f"Webhook endpoint {endpoint.id} is disabled; enable it first.")
    delivery.move_to(DeliveryStatus.PENDING)
    delivery.next_attempt_at = real_now()
    await session.flush()
    await notify(session, WEBHOOK_CHANNEL)
    return delivery


async def _post(
    http: httpx.AsyncClient, url: str, body: str, headers: dict[str, str]
) -> tuple[httpx.Response | None, str | None]:
    try:
        response = await http.post(url, content=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
    except httpx.TimeoutException:
        return None, f"no answer within {WEBHOOK_TIMEOUT_SECONDS:.0f} s"
    except httpx.HTTPError as exc:
        return None, f"connection failed: {exc!r}"
    return response, None


async def attempt_delivery(
    session: AsyncSession, *, delivery: WebhookDelivery, http: httpx.AsyncClient, settings: NotificationSettings
) -> None:
    """One attempt of a due delivery the caller has locked: send, log it, then succeed, disable the
    endpoint (410), retry later (in real time: test clocks do not speed webhooks up) or give up."""
    # Not locked: an edit of the endpoint must not wait for a slow receiver.
    endpoint = await session.get(WebhookEndpoint, delivery.endpoint_id)
    assert endpoint is not None  # a foreign key, and endpoints are only ever marked deleted
    if endpoint.status != EndpointStatus.ENABLED:
        delivery.status, delivery.next_attempt_at = "cancelled", None
        return
    started_at, started = real_now(), time.monotonic()
    response, error = None, await target_problem(endpoint.url, allow_private=settings.webhooks_allow_private)
    if error is None:
        body = json.dumps(delivery.envelope, separators=(",", ":"))
        headers = signed_headers(
            message_id=delivery.event_id, timestamp=started_at, body=body, signing_secrets=signing_secrets(endpoint)
        )
        response, error = await _post(http, endpoint.url, body, {"content-type": "application/json", **headers})
    status_code = response.status_code if response is not None else None
    if response is not None and not response.is_success:
        error = f"answered {status_code}"
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=started_at,
            status_code=status_code,
            error=error,
            duration_ms=round((time.monotonic() - started) * 1000),
        )
    )
    delivery.attempt_count += 1
    delivery.next_attempt_at = None
    if response is not None and response.is_success:
        delivery.move_to(DeliveryStatus.SUCCEEDED)
    elif status_code == 410:
        delivery.move_to(DeliveryStatus.FAILED)
        endpoint.move_to(EndpointStatus.DISABLED, reason="the endpoint answered 410 Gone")
    else:
        retry_after = None
        if response is not None and (response.status_code == 429 or response.status_code >= 500):
            retry_after = parse_retry_after(response.headers.get("retry-after"), real_now())
        delay = webhook_retry_delay(delivery.attempt_count, retry_after)
        if delay is None:
            delivery.move_to(DeliveryStatus.FAILED)
        else:
            delivery.next_attempt_at = real_now() + delay
    await session.flush()


# ---- emails -----------------------------------------------------------------------------------


async def customer_account(session: AsyncSession, customer_id: str, internal: InternalClient) -> CustomerAccount:
    """The customer's address; asks subscription-svc when its customer events have not arrived yet
    (an invoice's events travel on another topic and may come first)."""
    await ensure_customer_copy(session, CustomerAccount, customer_id, internal=internal, store=repository.upsert_customer)
    account = await session.get(CustomerAccount, customer_id)
    assert account is not None  # there already, or just stored by ensure_customer_copy (which raises otherwise)
    return account


async def email_settings(session: AsyncSession) -> dict[str, bool]:
    switched = await repository.email_settings(session)
    return {template: switched.get(template, True) for template in email_templates.TEMPLATES}


async def update_email_settings(session: AsyncSession, *, templates: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(templates) - set(email_templates.TEMPLATES))
    if unknown:
        raise UnknownEmailTemplate(f"No email templates {', '.join(unknown)}.")
    for template, enabled in templates.items():
        await repository.set_email_setting(session, template, enabled)
    return await email_settings(session)


async def email_for_event(
    session: AsyncSession, event: CloudEvent, *, internal: InternalClient, settings: NotificationSettings
) -> None:
    """Write (and queue) the email this event sends, if any: at most one per event and template;
    a template switched off is logged as suppressed."""
    template = email_templates.wanted(event.type, event.data)
    if template is None:
        return
    customer = await customer_account(session, event.subject, internal)
    rendered = email_templates.render(template, customer_name=customer.name, data=event.data, portal_url=settings.portal_url)
    enabled = (await email_settings(session))[template]
    email_id = new_id("em")
    added = await repository.add_email(
        session,
        id=email_id,
        customer_id=customer.id,
        to=customer.email,
        template=template,
        subject=rendered.subject,
        text_body=rendered.text,
        html_body=rendered.html,
        status=EmailStatus.PENDING if enabled else EmailStatus.SUPPRESSED,
        event_id=event.id,
        attempts=0,
    )
    if added and enabled:
        await schedule_job(
            session,
            kind=SEND_EMAIL,
            key=f"{SEND_EMAIL}:{email_id}",
            due_at=real_now(),
            clock_id=None,
            payload={"email_id": email_id},
        )


async def send_email(session: AsyncSession, *, email_id: str, settings: NotificationSettings) -> None:
    """One try: sent, or tried again later on the email schedule, or failed when it is used up."""
    email: Email | None = await repository.get_email(session, email_id, for_update=True)
    if email is None or email.status != EmailStatus.PENDING:
        return
    message = smtp.build_message(
        sender=settings.email_from,
        to=email.to,
        subject=email.subject,
        text=email.text_body,
        html=email.html_body,
        message_id=email.id,
    )
    message["X-Tenure-Event-Id"] = email.event_id
    try:
        await smtp.send(settings.smtp_url, message)
    except smtp.SMTP_ERRORS as exc:
        email.attempts += 1
        email.last_error = repr(exc)
        delay = email_retry_delay(email.attempts)
        if delay is None:
            email.move_to(EmailStatus.FAILED)
        else:
            await schedule_job(
                session,
                kind=SEND_EMAIL,
                key=f"{SEND_EMAIL}:{email.id}",
                due_at=real_now() + delay,
                clock_id=None,
                payload={"email_id": email.id},
            )
        return
    email.attempts += 1
    email.move_to(EmailStatus.SENT)
    email.sent_at = real_now()
