"""Tables owned by subscription-svc."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, Integer, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenure_shared.db import Base
from tenure_shared.events import CancellationDetailsData
from tenure_shared.states import move
from tenure_subscription.calendar import Interval
from tenure_subscription.statuses import (
    QUOTE_MOVES,
    SUBSCRIPTION_MOVES,
    TEST_CLOCK_MOVES,
    QuoteStatus,
    SubscriptionStatus,
    TestClockStatus,
)

TZ = DateTime(timezone=True)


class Plan(Base):
    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    interval: Mapped[Interval] = mapped_column(String)
    interval_count: Mapped[int] = mapped_column(Integer)
    trial_days: Mapped[int] = mapped_column(Integer)
    features: Mapped[list[str]] = mapped_column(JSONB)
    metered_charges: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    @property
    def is_free(self) -> bool:
        """A plan that charges nothing: the plan dunning and downgrades can move a customer to."""
        return self.amount == 0


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    email: Mapped[str] = mapped_column(String)
    name: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    external_id: Mapped[str | None] = mapped_column(String, unique=True)
    payment_method: Mapped[str | None] = mapped_column(String)
    test_clock_id: Mapped[str | None] = mapped_column(String, index=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONB, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class AccountSettings(Base):
    """The account's billing settings: one row (id = 1)."""

    __tablename__ = "account_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    free_plan_code: Mapped[str | None] = mapped_column(String)
    trial_end_action: Mapped[str] = mapped_column(String)
    proration: Mapped[str] = mapped_column(String)
    redeem_credits: Mapped[bool] = mapped_column(Boolean)
    reactivation_requires_payment: Mapped[bool] = mapped_column(Boolean)
    timezone: Mapped[str] = mapped_column(String)
    renewal_reminder_days: Mapped[list[int]] = mapped_column(JSONB)
    # A quote whose discount is more than this share of its subtotal needs an admin's approval (None: never).
    quote_approval_percent_off: Mapped[int | None] = mapped_column(Integer, server_default="20")
    retention_coupon_code: Mapped[str | None] = mapped_column(String)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String)  # SubscriptionStatus; changed only by move_to
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.code"))
    quantity: Mapped[int] = mapped_column(Integer)
    # Periods are counted from the anchor (boundary n to n+1), so month ends stay month ends.
    billing_anchor: Mapped[datetime | None] = mapped_column(TZ)
    period_index: Mapped[int] = mapped_column(Integer, default=0)
    current_period_start: Mapped[datetime | None] = mapped_column(TZ)
    current_period_end: Mapped[datetime | None] = mapped_column(TZ)
    trial_end: Mapped[datetime | None] = mapped_column(TZ)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(TZ)
    # Why the customer cancelled (CancelIn.cancellation_details); cleared by a reactivation.
    cancellation_feedback: Mapped[str | None] = mapped_column(String)
    cancellation_comment: Mapped[str | None] = mapped_column(String)
    on_free_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    last_paid_plan_code: Mapped[str | None] = mapped_column(String)
    unpaid: Mapped[bool] = mapped_column(Boolean, default=False)
    # Recurring add-ons [{code, quantity}], renewed with the plan every period.
    addons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Charge lines waiting for the next invoice (proration `next_invoice`, one-time add-ons in a trial).
    pending_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Changes asked for at end of term, applied by the renewal in creation order.
    scheduled_changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # What the last cancellation did with the unused period (credit | refund | none): a reactivation
    # within the term bills back what was credited.
    cancellation_unused: Mapped[str | None] = mapped_column(String)
    # The current or scheduled pause: it starts at pause_at (status `paused` from then) and, when
    # resume_at is set, a resume job ends it. last_resumed_at bounds how far back a pause may reach.
    pause_at: Mapped[datetime | None] = mapped_column(TZ)
    resume_at: Mapped[datetime | None] = mapped_column(TZ)
    last_resumed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
    # Every discount ever applied (running or ended), oldest first; loaded with the subscription.
    discounts: Mapped[list[Discount]] = relationship(lazy="selectin", order_by="Discount.created_seq")

    def cancellation_details(self) -> CancellationDetailsData | None:
        """What the customer said when cancelling (None if nothing, or after a reactivation)."""
        if self.cancellation_feedback is None and self.cancellation_comment is None:
            return None
        return CancellationDetailsData(feedback=self.cancellation_feedback, comment=self.cancellation_comment)

    def move_to(self, status: SubscriptionStatus) -> None:
        self.status = move(self.status, status, SUBSCRIPTION_MOVES, what=f"Subscription {self.id}")

    @property
    def renews(self) -> bool:
        """Whether the end of this period starts the next one: active and not cancelling at its end."""
        return self.status == SubscriptionStatus.ACTIVE and not self.cancel_at_period_end

    @property
    def renews_at(self) -> datetime | None:
        return self.current_period_end if self.renews else None

    def current_period(self) -> tuple[datetime, datetime]:
        """The period in force, [start, end). The columns are NULL only inside create_subscription, between
        the INSERT and the first period (the trial or a paid one) it starts in the same transaction."""
        start, end = self.current_period_start, self.current_period_end
        assert start is not None and end is not None, f"subscription {self.id} has no period yet"
        return start, end


class Addon(Base):
    """A catalog add-on: recurring with the plan's interval, or bought once."""

    __tablename__ = "addons"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    interval: Mapped[Interval | None] = mapped_column(String)  # None: one-time
    interval_count: Mapped[int] = mapped_column(Integer, default=1)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    @property
    def one_time(self) -> bool:
        return self.interval is None


class TimelineEntry(Base):
    """Every lifecycle event of a subscription, with its business time."""

    __tablename__ = "subscription_timeline"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    event_type: Mapped[str] = mapped_column(String)
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class TestClock(Base):
    __tablename__ = "test_clocks"
    __test__ = False

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str | None] = mapped_column(String)
    frozen_time: Mapped[datetime] = mapped_column(TZ)
    target_time: Mapped[datetime] = mapped_column(TZ)
    status: Mapped[str] = mapped_column(String)  # TestClockStatus; changed only by move_to
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    def move_to(self, status: TestClockStatus) -> None:
        self.status = move(self.status, status, TEST_CLOCK_MOVES, what=f"Test clock {self.id}")


class Metric(Base):
    """A billable metric: how a customer's usage events of this code are aggregated per period."""

    __tablename__ = "metrics"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    aggregation: Mapped[str] = mapped_column(String)  # sum | max | count | unique_count
    # The event property aggregated; None for sum/max means the event's own `value`.
    property: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Coupon(Base):
    """A reusable discount: percent or fixed amount, for one, some or all periods."""

    __tablename__ = "coupons"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[str] = mapped_column(String)  # once | repeating | forever
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    # {plan_codes?: [..], addon_codes?: [..]}; None: every plan and recurring add-on.
    applies_to: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    redeem_by: Mapped[datetime | None] = mapped_column(TZ)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class PromotionCode(Base):
    """A customer-facing code for a coupon, with restrictions of its own."""

    __tablename__ = "promotion_codes"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    coupon_code: Mapped[str] = mapped_column(ForeignKey("coupons.code"), index=True)
    max_redemptions: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    first_time_only: Mapped[bool] = mapped_column(Boolean, default=False)
    minimum_amount: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class Discount(Base):
    """A coupon redeemed on a subscription, with the periods it covered so far."""

    __tablename__ = "discounts"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    created_seq: Mapped[int] = mapped_column(BigInteger, Identity())
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    coupon_code: Mapped[str] = mapped_column(ForeignKey("coupons.code"), index=True)
    promotion_code: Mapped[str | None] = mapped_column(String, index=True)
    # The coupon's terms, copied at redemption: a running discount keeps them.
    percent_off: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    amount_off: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    duration: Mapped[str] = mapped_column(String)
    duration_in_periods: Mapped[int | None] = mapped_column(Integer)
    applies_to: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Periods ending after starts_at are covered (the current one at creation or with a change now).
    starts_at: Mapped[datetime] = mapped_column(TZ)
    ended_at: Mapped[datetime | None] = mapped_column(TZ)
    # [{period_end, event_id, amount}]: each period covered, by the subscription event billing it and
    # the fixed amount taken there; a voided invoice's entries are removed (its periods come back).
    uses: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)


class ApiKey(Base):
    """An API key: only its SHA-256 and a visible prefix are kept (the key is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    key_hash: Mapped[str] = mapped_column(String, unique=True)
    prefix: Mapped[str] = mapped_column(String)
    scopes: Mapped[list[str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(TZ)
    last_used_at: Mapped[datetime | None] = mapped_column(TZ)
    revoked_at: Mapped[datetime | None] = mapped_column(TZ)


class PortalSession(Base):
    """A customer's portal access: a one-time link, exchanged once for a session credential. Both
    are kept as SHA-256 only."""

    __tablename__ = "portal_sessions"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    return_url: Mapped[str | None] = mapped_column(String)
    link_hash: Mapped[str] = mapped_column(String, unique=True)
    link_expires_at: Mapped[datetime] = mapped_column(TZ)
    link_used_at: Mapped[datetime | None] = mapped_column(TZ)
    session_hash: Mapped[str | None] = mapped_column(String, unique=True)
    session_expires_at: Mapped[datetime | None] = mapped_column(TZ)
    last_seen_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ)


class Quote(Base):
    """A proposed change to a subscription, priced exactly: the first invoice after acceptance
    (`total`, its `lines`) and each period after it (`recurring_total`)."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[str | None] = mapped_column(String, unique=True)  # Q-000001…, set when finalized
    status: Mapped[str] = mapped_column(String)  # QuoteStatus; changed only by move_to
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    clock_id: Mapped[str | None] = mapped_column(String)
    when: Mapped[str] = mapped_column(String)  # end_of_term | now
    plan_code: Mapped[str | None] = mapped_column(String)
    quantity: Mapped[int | None] = mapped_column(Integer)
    addons: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    coupon_code: Mapped[str | None] = mapped_column(String)
    note: Mapped[str | None] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    recurring_total: Mapped[int] = mapped_column(BigInteger)
    current_recurring_amount: Mapped[int] = mapped_column(BigInteger)
    effective_at: Mapped[datetime | None] = mapped_column(TZ)
    expires_at: Mapped[datetime | None] = mapped_column(TZ)
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    approved_at: Mapped[datetime | None] = mapped_column(TZ)
    finalized_at: Mapped[datetime | None] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())

    def move_to(self, status: QuoteStatus) -> None:
        self.status = move(self.status, status, QUOTE_MOVES, what=f"Quote {self.id}")
