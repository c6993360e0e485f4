"""Request and response bodies of invoicing-svc's API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tenure_invoicing.statuses import InvoiceStatus, PaymentStatus
from tenure_shared.money import CurrencyCode, PositiveAmount
from tenure_shared.pagination import ListPage, filter_of

InvoiceStatusFilter = filter_of(InvoiceStatus)


class ChargeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: str
    amount: PositiveAmount
    currency: CurrencyCode
    description: str = Field(min_length=1, max_length=500)


class CollectIn(BaseModel):
    """Internal: one payment attempt, idempotent per attempt_key."""

    attempt_key: str
    initiated_by: Literal["dunning", "api"] = "dunning"


class RefundIn(BaseModel):
    """Internal: pay money back to a customer through the gateway, once per refund_key."""

    refund_key: str
    customer_id: str
    amount: PositiveAmount
    currency: CurrencyCode


class RefundResultOut(BaseModel):
    status: Literal["succeeded", "failed"]
    failure_code: str | None


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int
    period_start: datetime | None
    period_end: datetime | None
    # Usage lines: the exact quantity (`quantity` is it rounded half-up) and the metric, price and tiers.
    quantity_decimal: str | None = None
    details: dict | None = None


class CreditAppliedOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_note_id: str
    amount: int


class InvoiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: str
    customer_id: str
    subscription_id: str | None
    status: InvoiceStatus
    currency: str
    billing_reason: str
    period_start: datetime | None
    period_end: datetime | None
    lines: list[LineOut]
    subtotal: int
    credits_applied: list[CreditAppliedOut]
    total: int
    amount_due: int
    amount_paid: int
    issued_at: datetime
    paid_at: datetime | None
    voided_at: datetime | None
    void_reason: str | None


class UpcomingInvoiceOut(BaseModel):
    """The invoice the next renewal would issue now (not an invoice yet: no id, no number)."""

    customer_id: str
    subscription_id: str
    currency: str
    billing_reason: str
    period_start: datetime | None
    period_end: datetime | None
    lines: list[LineOut]
    subtotal: int
    credits_applied: list[CreditAppliedOut]
    total: int
    amount_due: int
    issued_at: datetime


class PaymentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    invoice_id: str
    amount: int
    currency: str
    status: PaymentStatus
    failure_code: str | None
    initiated_by: str
    attempted_at: datetime


ListOut = ListPage  # typed per route: ListOut[InvoiceOut]


class CollectOpenIn(BaseModel):
    """Internal: collect every open invoice of a subscription with this payment method."""

    payment_method: str | None = None
    attempt_key: str


class CollectedInvoiceOut(BaseModel):
    invoice_id: str
    status: str
    amount_due: int
    payment_id: str
    failure_code: str | None


class CollectOpenOut(BaseModel):
    invoices: list[CollectedInvoiceOut]
