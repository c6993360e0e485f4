"""Tables owned by credit-svc: the credit ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Identity, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenure_credit.statuses import NOTE_MOVES, REFUND_MOVES, NoteStatus, RefundStatus
from tenure_shared.db import Base
from tenure_shared.states import move

TZ = DateTime(timezone=True)


class CustomerAccount(Base):
    """What credit-svc knows of a customer, kept from customer.* events."""

    __tablename__ = "customer_accounts"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    clock_id: Mapped[str | None] = mapped_column(String)
    version: Mapped[int] = mapped_column(Integer, default=0)


class CreditNote(Base):
    __tablename__ = "credit_notes"
    __table_args__ = (
        # One credit can never be spent twice: the database refuses a remainder below zero.
        CheckConstraint("remaining >= 0", name="remaining_non_negative"),
        CheckConstraint("remaining <= amount", name="remaining_within_amount"),
        CheckConstraint("amount > 0", name="amount_positive"),
        # The open credits a new invoice draws on, oldest first.
        Index(
            "ix_credit_notes_open",
            "customer_id",
            "currency",
            "issued_at",
            postgresql_where=text("remaining > 0 AND status IN ('open', 'partially_applied')"),
        ),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[str] = mapped_column(String, unique=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    subscription_id: Mapped[str | None] = mapped_column(String, index=True)
    clock_id: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    description: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String)  # NoteStatus; changed only by move_to
    period_start: Mapped[datetime | None] = mapped_column(TZ)
    period_end: Mapped[datetime | None] = mapped_column(TZ)
    issued_at: Mapped[datetime] = mapped_column(TZ)
    voided_at: Mapped[datetime | None] = mapped_column(TZ)
    # The request that caused the note (e.g. "pause:sub_…:2026-06-10…"): one note per key.
    source_key: Mapped[str | None] = mapped_column(String, unique=True)

    def move_to(self, status: NoteStatus) -> None:
        self.status = move(self.status, status, NOTE_MOVES, what=f"Credit note {self.id}")

    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    applications: Mapped[list[CreditApplication]] = relationship(order_by="CreditApplication.id", lazy="selectin")


class CreditApplication(Base):
    """Part of a credit note spent on an invoice; `reversed_at` is set when that invoice was voided."""

    __tablename__ = "credit_applications"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(String, index=True)
    subscription_id: Mapped[str | None] = mapped_column(String)
    apply_key: Mapped[str] = mapped_column(String, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    applied_at: Mapped[datetime] = mapped_column(TZ)
    reversed_at: Mapped[datetime | None] = mapped_column(TZ)


class CreditApplyRequest(Base):
    """One row per apply_key, inserted first: a repeat (or a concurrent twin) gets the first answer."""

    __tablename__ = "credit_apply_requests"

    apply_key: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    invoice_id: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Refund(Base):
    """Money paid back from a credit note through the gateway (invoicing-svc holds the gateway).

    While pending, its amount is already taken off the note's remainder (so it cannot be spent or
    refunded again); a failure gives it back."""

    __tablename__ = "refunds"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(ForeignKey("credit_notes.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # RefundStatus: pending (recorded and committed before the gateway is called), then settled once
    status: Mapped[str] = mapped_column(String)
    failure_code: Mapped[str | None] = mapped_column(String)
    refunded_at: Mapped[datetime] = mapped_column(TZ)
    # The gateway's idempotency key: every call for this refund uses it, so money goes out once.
    refund_key: Mapped[str] = mapped_column(String, unique=True)

    def move_to(self, status: RefundStatus) -> None:
        self.status = move(self.status, status, REFUND_MOVES, what=f"Refund {self.id}")
