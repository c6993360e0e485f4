"""Tables owned by dunning-svc."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Integer, String, func, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenure_dunning.statuses import CASE_MOVES, CaseStatus
from tenure_shared.db import Base
from tenure_shared.states import move

TZ = DateTime(timezone=True)


class DunningPolicy(Base):
    """The account's retry policy: one row (id = 1)."""

    __tablename__ = "dunning_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    retry_after_days: Mapped[list[int]] = mapped_column(JSONB)
    final_action: Mapped[str] = mapped_column(String)
    notify_customer: Mapped[bool] = mapped_column(Boolean)


class DunningCase(Base):
    __tablename__ = "dunning_cases"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    invoice_id: Mapped[str] = mapped_column(String, unique=True)
    subscription_id: Mapped[str | None] = mapped_column(String)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    clock_id: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)  # CaseStatus; changed only by move_to
    # The policy in force when the case opened: a later policy change does not move its retries.
    retry_after_days: Mapped[list[int]] = mapped_column(JSONB)
    final_action: Mapped[str] = mapped_column(String)
    notify_customer: Mapped[bool] = mapped_column(Boolean, server_default=true())
    # What the failed collection asked for (what the customer's emails quote).
    amount_due: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    first_failed_at: Mapped[datetime] = mapped_column(TZ)
    next_retry_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    attempts: Mapped[list[DunningAttempt]] = relationship(order_by="DunningAttempt.id", lazy="selectin")

    def move_to(self, status: CaseStatus) -> None:
        self.status = move(self.status, status, CASE_MOVES, what=f"Dunning case {self.id}")


class DunningAttempt(Base):
    __tablename__ = "dunning_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("dunning_cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(TZ)
    outcome: Mapped[str] = mapped_column(String)  # failed | succeeded
    payment_id: Mapped[str | None] = mapped_column(String)
    failure_code: Mapped[str | None] = mapped_column(String)
