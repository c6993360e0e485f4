"""Request and response bodies of credit-svc's API (public and internal)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictInt

from tenure_credit.statuses import NoteStatus, RefundStatus
from tenure_shared.events import CreditRequest, PauseWindow
from tenure_shared.fields import Timestamp
from tenure_shared.money import CurrencyCode, PositiveAmount
from tenure_shared.pagination import ListPage, filter_of

CreditNoteStatusFilter = filter_of(NoteStatus)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreditNoteIn(Strict):
    """A manual credit note."""

    customer_id: str
    amount: PositiveAmount
    currency: CurrencyCode
    description: str = Field(min_length=1, max_length=500)
    subscription_id: str | None = None
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None


class ApplicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    invoice_id: str
    amount: int
    applied_at: datetime
    # Set when the invoice was voided and the amount went back onto the note.
    reversed_at: datetime | None = None


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: str
    customer_id: str
    subscription_id: str | None
    reason: str
    description: str
    currency: str
    amount: int
    remaining: int
    refunded: int
    status: NoteStatus
    period_start: datetime | None
    period_end: datetime | None
    applications: list[ApplicationOut]
    issued_at: datetime
    voided_at: datetime | None


class BalanceOut(BaseModel):
    currency: str
    amount: int
    credit_notes: int


class CreditBalanceOut(BaseModel):
    customer_id: str
    balances: list[BalanceOut]


class RefundIn(Strict):
    credit_note_id: str
    # Defaults to the note's whole remainder.
    amount: PositiveAmount | None = None


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    credit_note_id: str
    customer_id: str
    amount: int
    currency: str
    status: RefundStatus
    failure_code: str | None
    refunded_at: datetime


class CreditPreviewIn(Strict):
    subscription_id: str
    # Defaults: now (or, for a paused subscription, the start of its pause); resume_at: open-ended.
    pause_at: Timestamp | None = None
    resume_at: Timestamp | None = None


class CreditPreviewOut(BaseModel):
    subscription_id: str | None = None
    unused_days: int
    period_days: int
    amount: int
    currency: str
    period_start: datetime
    period_end: datetime
    pause_at: datetime
    resume_at: datetime | None


ListOut = ListPage  # typed per route: ListOut[CreditNoteOut]


# ---- internal ---------------------------------------------------------------------------------


class PauseCreditIn(Strict):
    """Internal: the credit of a pause window (subscription-svc's pause preview)."""

    currency: str
    window: PauseWindow


class ApplyIn(Strict):
    """Internal: spend credits on an invoice being created; idempotent per apply_key."""

    apply_key: str
    customer_id: str
    subscription_id: str | None = None
    clock_id: str | None = None
    invoice_id: str
    currency: str
    amount: StrictInt = Field(ge=0)
    at: AwareDatetime
    # True: every open credit of the customer (settings.redeem_credits). False: only the credits
    # the billing event itself owes (e.g. an out-of-term resume's pause credit).
    redeem_all: StrictBool = True
    # The billing event's own credit requests, issued here first if credit-svc has not yet.
    credit_requests: list[CreditRequest] = []


class AppliedCreditOut(BaseModel):
    credit_note_id: str
    amount: int
    applied_at: datetime


class ApplyOut(BaseModel):
    applications: list[AppliedCreditOut]
    amount_applied: int
