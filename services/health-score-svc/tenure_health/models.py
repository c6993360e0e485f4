"""Tables owned by health-score-svc: what it knows of each customer, the scores it computed, the model."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Index, Integer, Numeric, String, false, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base

TZ = DateTime(timezone=True)


class HealthCustomer(Base):
    """A customer (a copy of subscription-svc's, see tenure_shared.customer_copies) and its latest health."""

    __tablename__ = "health_customers"
    __table_args__ = (Index("ix_health_customers_clock_score", "clock_id", "score", "id"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    currency: Mapped[str | None] = mapped_column(String(3))  # None until customer.created arrives
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(TZ)
    first_value_at: Mapped[datetime | None] = mapped_column(TZ)
    score: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str | None] = mapped_column(String)
    stage: Mapped[str | None] = mapped_column(String)
    profile: Mapped[str | None] = mapped_column(String)
    factors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    computed_at: Mapped[datetime | None] = mapped_column(TZ)
    # An early-warning episode: churn_risk_raised went out and the customer has not recovered since.
    risk_episode_open: Mapped[bool] = mapped_column(Boolean, default=False)


class HealthSubscription(Base):
    """The latest snapshot of a subscription from subscription.* events."""

    __tablename__ = "health_subscriptions"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String)
    plan_code: Mapped[str] = mapped_column(String)
    plan_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)
    current_period_start: Mapped[datetime | None] = mapped_column(TZ)
    current_period_end: Mapped[datetime | None] = mapped_column(TZ)
    on_free_plan: Mapped[bool] = mapped_column(Boolean, default=False)
    included_units: Mapped[int] = mapped_column(BigInteger, default=0)
    cancellation_scheduled: Mapped[bool] = mapped_column(Boolean, default=False)


class BillingFact(Base):
    """A dated billing moment: payment_failed, downgrade, upgrade, seats_grew, pause, free_plan_move."""

    __tablename__ = "health_billing_facts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    kind: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(TZ)
    reference: Mapped[str | None] = mapped_column(String)


class HealthInvoice(Base):
    __tablename__ = "health_invoices"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String)
    amount_due: Mapped[int] = mapped_column(BigInteger, default=0)
    first_failed_at: Mapped[datetime | None] = mapped_column(TZ)


class HealthDunningCase(Base):
    __tablename__ = "health_dunning_cases"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(TZ)


class UsageFact(Base):
    """Accepted usage of one usage.recorded event (all metrics together)."""

    __tablename__ = "health_usage"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    at: Mapped[datetime] = mapped_column(TZ)
    units: Mapped[Decimal] = mapped_column(Numeric)


class Ticket(Base):
    __tablename__ = "health_tickets"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    opened_at: Mapped[datetime] = mapped_column(TZ)
    closed_at: Mapped[datetime | None] = mapped_column(TZ)
    severity: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    subject: Mapped[str | None] = mapped_column(String)


class Survey(Base):
    __tablename__ = "health_surveys"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    kind: Mapped[str] = mapped_column(String)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String)
    answered_at: Mapped[datetime] = mapped_column(TZ)


class Activity(Base):
    __tablename__ = "health_activity"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    name: Mapped[str] = mapped_column(String)
    user_id: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(TZ)
    count: Mapped[int] = mapped_column(Integer, default=1)


class HealthScore(Base):
    """Every computed score (the history)."""

    __tablename__ = "health_scores"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String)
    stage: Mapped[str] = mapped_column(String)
    computed_at: Mapped[datetime] = mapped_column(TZ, index=True)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class HealthModelRow(Base):
    """The model in force: one row (id = 1), the JSON of tenure_health.scoring.HealthModel."""

    __tablename__ = "health_models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[dict[str, Any]] = mapped_column(JSONB)


_IN_FORCE = ["subscription_id", "customer_id", "currency", "paused", "mrr_numerator", "mrr_denominator", "first_mrr_at"]


class MrrState(Base):
    """A subscription's MRR-relevant state from one subscription.* event on (retention reports, renewals)."""

    __tablename__ = "health_mrr_states"
    __table_args__ = (
        # The states in force at an instant t (at <= t < next_at), index only, from either end.
        Index("ix_health_mrr_states_clock_at", "clock_id", "at", postgresql_include=["next_at", *_IN_FORCE]),
        Index("ix_health_mrr_states_clock_next_at", "clock_id", "next_at", postgresql_include=["at", *_IN_FORCE]),
        # The renewals due, by the date they fall due: a period end with MRR in force just before it.
        Index(
            "ix_health_mrr_states_renewals_due",
            "clock_id",
            "currency",
            "current_period_end",
            postgresql_include=["mrr_numerator", "mrr_denominator", "renewed"],
            postgresql_where=text("mrr_numerator > 0 AND at < current_period_end AND current_period_end <= next_at"),
        ),
        Index(
            "ix_health_mrr_states_free_plan_moves",
            "clock_id",
            "currency",
            "at",
            postgresql_where=text("verb = 'moved_to_free_plan'"),
        ),
        # A clock's states in each subscription's order (reports._states, for the renewals list).
        Index(
            "ix_health_mrr_states_clock_subscription",
            "clock_id",
            "subscription_id",
            "at",
            "id",
            postgresql_include=[
                "customer_id",
                "currency",
                "verb",
                "paused",
                "current_period_end",
                "mrr_numerator",
                "mrr_denominator",
            ],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String, unique=True)
    subscription_id: Mapped[str] = mapped_column(String, index=True)
    customer_id: Mapped[str] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    at: Mapped[datetime] = mapped_column(TZ)
    verb: Mapped[str] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    paused: Mapped[bool] = mapped_column(Boolean)
    on_free_plan: Mapped[bool] = mapped_column(Boolean)
    plan_code: Mapped[str] = mapped_column(String)
    interval: Mapped[str] = mapped_column(String)
    interval_count: Mapped[int] = mapped_column(Integer)
    # One period's recurring charges less running discounts (rounded) and the exact MRR as a fraction.
    period_amount: Mapped[int] = mapped_column(BigInteger)
    mrr_numerator: Mapped[int] = mapped_column(BigInteger)
    mrr_denominator: Mapped[int] = mapped_column(BigInteger)
    current_period_end: Mapped[datetime | None] = mapped_column(TZ)
    billing_reason: Mapped[str | None] = mapped_column(String)
    cancellation_scheduled: Mapped[bool] = mapped_column(Boolean)
    # With scheduled changes pending: the next renewal's plan, period amount and MRR.
    next_plan_code: Mapped[str | None] = mapped_column(String)
    next_period_amount: Mapped[int | None] = mapped_column(BigInteger)
    next_mrr_numerator: Mapped[int | None] = mapped_column(BigInteger)
    next_mrr_denominator: Mapped[int | None] = mapped_column(BigInteger)
    # Successor facts, kept by reports.link_states as states and voided invoices arrive: the next state's
    # instant in (at, id) order ('infinity' for the last: the state is in force from `at` until then), the
    # subscription's first instant with MRR, and whether a renewal, not voided, was issued at `current_period_end`.
    next_at: Mapped[datetime] = mapped_column(TZ, server_default="infinity")
    first_mrr_at: Mapped[datetime] = mapped_column(TZ, server_default="infinity")
    renewed: Mapped[bool] = mapped_column(Boolean, server_default=false())


class MrrInvoice(Base):
    """An invoice as the retention report needs it: when issued, for which subscription event, paid or voided."""

    __tablename__ = "health_mrr_invoices"
    __table_args__ = (
        # The deals of a window (paid, and billing a new subscription or a renewal), index only.
        Index(
            "ix_health_mrr_invoices_deals",
            "clock_id",
            "currency",
            "issued_at",
            postgresql_include=["total", "deal_at"],
            postgresql_where=text("status = 'paid' AND deal_at IS NOT NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    clock_id: Mapped[str | None] = mapped_column(String, index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subscription_id: Mapped[str | None] = mapped_column(String)
    source_event_id: Mapped[str | None] = mapped_column(String, index=True)
    total: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String)
    issued_at: Mapped[datetime] = mapped_column(TZ)
    # The instant of the subscription event it bills when that was a new subscription or a renewal (a deal),
    # kept by reports.link_deals whichever arrives first.
    deal_at: Mapped[datetime | None] = mapped_column(TZ)


class RenewalQuote(Base):
    """A quote of a subscription as its last quote.* event left it: an open one tells the renewal
    forecast whether the customer is about to pay more (upsell) or less (downgrade)."""

    __tablename__ = "renewal_quotes"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String, index=True)
    number: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    recurring_total: Mapped[int] = mapped_column(BigInteger)
    current_recurring_amount: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(TZ)
