"""The public event types: what leaves Tenure as webhooks (and on Kafka), each with its payload
model from tenure_shared.events. Internal instructions (metric.created) and dead letters
(`<topic>.dlq`) are not public and are never delivered."""

from __future__ import annotations

from pydantic import BaseModel

from tenure_shared.events import (
    SUBSCRIPTION_EVENT_TYPES,
    CreditNoteData,
    CustomerData,
    DunningData,
    InvoiceData,
    PaymentData,
    RefundData,
    SubscriptionData,
    UsageRecordedData,
)

# Bumped when a payload changes incompatibly; additions of fields keep the version.
SCHEMA_VERSION = "2026-12-01"
# The one event a person sends to an endpoint on purpose (POST /v1/webhook-endpoints/{id}/test).
TEST_EVENT_TYPE = "webhook.test"


class WebhookTestData(BaseModel):
    """webhook.test: sent on request to check an endpoint receives and verifies deliveries."""

    endpoint_id: str
    message: str


PUBLIC_EVENT_TYPES: dict[str, type[BaseModel]] = {
    "customer.created": CustomerData,
    "customer.updated": CustomerData,
    **dict.fromkeys(SUBSCRIPTION_EVENT_TYPES, SubscriptionData),
    **{f"invoice.{verb}": InvoiceData for verb in ("created", "paid", "voided")},
    **{f"payment.{verb}": PaymentData for verb in ("succeeded", "failed")},
    **{f"dunning.{verb}": DunningData for verb in ("started", "retry_scheduled", "recovered", "exhausted")},
    **{f"credit_note.{verb}": CreditNoteData for verb in ("issued", "applied", "restored", "voided")},
    **{f"refund.{verb}": RefundData for verb in ("issued", "failed")},
    "usage.recorded": UsageRecordedData,
    TEST_EVENT_TYPE: WebhookTestData,
}


def is_public(event_type: str) -> bool:
    return event_type in PUBLIC_EVENT_TYPES


def subscribed(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `event_types` ("*" = every public type) gets this type."""
    return is_public(event_type) and ("*" in event_types or event_type in event_types)
