"""The public event types: what leaves Tenure as webhooks, each with its payload model from
tenure_shared.events. Internal instructions (metric.created, and the fields of a subscription event
that tell invoicing what to bill and credit-svc what to credit) and dead letters (`<topic>.dlq`) are
not public and are never delivered."""

from __future__ import annotations

import json
from typing import Any

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


# Fields that are instructions to another service, not state: removed from webhooks and the schema.
INTERNAL_FIELDS: dict[type[BaseModel], frozenset[str]] = {
    SubscriptionData: frozenset({"bill_lines", "credit_requests", "redeem_credits"}),
}


def public_data(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The event's payload as it leaves Tenure."""
    hidden = INTERNAL_FIELDS.get(PUBLIC_EVENT_TYPES[event_type], frozenset())
    return {name: value for name, value in data.items() if name not in hidden}


def public_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a public payload: the model's, without its internal fields (nor the
    definitions only those used)."""
    schema = model.model_json_schema()
    hidden = INTERNAL_FIELDS.get(model, frozenset())
    schema["properties"] = {name: field for name, field in schema["properties"].items() if name not in hidden}
    schema["required"] = [name for name in schema.get("required", []) if name not in hidden]
    definitions = schema.pop("$defs", {})
    kept: dict[str, Any] = {}
    pending = [schema]
    while pending:  # keep the definitions still referenced, directly or through another kept one
        text = json.dumps(pending.pop())
        for name, definition in definitions.items():
            if name not in kept and f'"#/$defs/{name}"' in text:
                kept[name] = definition
                pending.append(definition)
    if kept:
        schema["$defs"] = kept
    return schema


def is_public(event_type: str) -> bool:
    return event_type in PUBLIC_EVENT_TYPES


def subscribed(event_types: list[str], event_type: str) -> bool:
    """Whether an endpoint subscribed to `event_types` ("*" = every public type) gets this type."""
    return is_public(event_type) and ("*" in event_types or event_type in event_types)
