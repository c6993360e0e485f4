"""The webhook event types: the public event types of tenure_shared.events (where the payload models,
the internal types and fields, and the schema version live) and webhook.test. Internal
instructions and dead letters (`<topic>.dlq`) are never delivered."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from tenure_shared.events import PUBLIC_EVENT_PAYLOADS
from tenure_shared.events import public_data as public_payload

# The one event a person sends to an endpoint on purpose (POST /v1/webhook-endpoints/{id}/test).
TEST_EVENT_TYPE = "webhook.test"


class WebhookTestData(BaseModel):
    """webhook.test: sent on request to check an endpoint receives and verifies deliveries."""

    endpoint_id: str
    message: str


# The webhook event types: every public event type of tenure_shared.events, and the test event.
PUBLIC_EVENT_TYPES: dict[str, type[BaseModel]] = {**PUBLIC_EVENT_PAYLOADS, TEST_EVENT_TYPE: WebhookTestData}


def public_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The event's payload as it leaves Tenure."""
    return public_payload(PUBLIC_EVENT_TYPES[event_type], data)


def is_public(event_type: str) -> bool:
    return event_type in PUBLIC_EVENT_TYPES


def subscribed(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `event_types` ("*" = every public type) gets this type."""
    return is_public(event_type) and ("*" in event_types or event_type in event_types)
