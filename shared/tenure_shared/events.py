"""The CloudEvents 1.0 envelope, the topics, and the models of the events services publish.

Events carry the state consumers need, so a consumer never calls back the producer. Every event
is keyed by customer id (its `subject`), so one customer's events stay in order on a topic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SUBSCRIPTIONS = "tenure.subscriptions"  # customer.* and subscription.* (one topic keeps them ordered)
INVOICES = "tenure.invoices"
PAYMENTS = "tenure.payments"
DUNNING = "tenure.dunning"
CREDITS = "tenure.credits"
USAGE = "tenure.usage"
HEALTH = "tenure.health"
TOPICS = (SUBSCRIPTIONS, INVOICES, PAYMENTS, DUNNING, CREDITS, USAGE, HEALTH)
TOPIC_PARTITIONS = 4


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


ALL_TOPICS = TOPICS + tuple(dead_letter_topic(t) for t in TOPICS)


class CloudEvent(BaseModel):
    """CloudEvents 1.0 JSON envelope. `tenureclock` is an extension attribute: the test clock."""

    model_config = ConfigDict(extra="allow")

    specversion: Literal["1.0"] = "1.0"
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    tenureclock: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


# ---- payloads ---------------------------------------------------------------------------------


class CustomerData(BaseModel):
    """customer.created / customer.updated: what other services need of a customer."""

    id: str
    email: str
    name: str
    currency: str
    payment_method: str | None = None
    test_clock_id: str | None = None


class ChargeLine(BaseModel):
    """A line a subscription event asks invoicing to bill (amounts in minor units)."""

    kind: Literal["subscription", "addon", "proration", "usage", "one_time"]
    description: str
    quantity: int = 1
    unit_amount: int
    amount: int
    period_start: datetime | None = None
    period_end: datetime | None = None


class SubscriptionData(BaseModel):
    """subscription.*: a snapshot of the subscription, plus what to bill now, if anything."""

    id: str
    customer_id: str
    status: str
    plan_code: str
    plan_amount: int
    currency: str
    quantity: int
    current_period_start: datetime | None = None
    current_period_end: datetime | None = None
    on_free_plan: bool = False
    last_paid_plan_code: str | None = None
    payment_method: str | None = None
    # Non-empty when this event must be invoiced now; invoicing bills it once per event id.
    bill_lines: list[ChargeLine] = Field(default_factory=list)
    billing_reason: str | None = None
    # For subscription.moved_to_free_plan / cancelled: why (e.g. dunning_exhausted).
    reason: str | None = None


class InvoiceData(BaseModel):
    """invoice.created / paid / voided."""

    id: str
    number: str
    customer_id: str
    subscription_id: str | None
    status: str
    currency: str
    total: int
    amount_due: int
    amount_paid: int
    void_reason: str | None = None


class PaymentData(BaseModel):
    """payment.succeeded / payment.failed."""

    id: str
    invoice_id: str
    subscription_id: str | None
    customer_id: str
    amount: int
    currency: str
    status: Literal["succeeded", "failed"]
    failure_code: str | None = None
    attempted_at: datetime
    # Who asked for the attempt: invoice finalisation, a dunning retry, or a person via the API.
    initiated_by: Literal["invoice", "dunning", "api"]


class DunningData(BaseModel):
    """dunning.started / retry_scheduled / recovered / exhausted."""

    id: str
    invoice_id: str
    subscription_id: str | None
    customer_id: str
    status: Literal["retrying", "recovered", "exhausted"]
    final_action: Literal["move_to_free_plan", "cancel", "mark_unpaid"]
    next_retry_at: datetime | None = None
    attempt_count: int = 0
