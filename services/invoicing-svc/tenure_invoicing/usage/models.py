"""Tables of usage-based billing (migration 0002_usage)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, Identity, Index, Numeric, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tenure_shared.db import Base

TZ = DateTime(timezone=True)


class UsageEvent(Base):
    """One accepted usage event; the primary key is the client's event id (the dedupe).

    Written by the ingestion route with raw asyncpg (see usage/ingestion.py); mapped here for reads.
    """

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_customer_metric_time", "customer_id", "metric_code", "occurred_at"),)

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String)
    subscription_id: Mapped[str | None] = mapped_column(String)
    metric_code: Mapped[str] = mapped_column(String)
    occurred_at: Mapped[datetime] = mapped_column(TZ)
    value: Mapped[Decimal | None] = mapped_column(Numeric)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())


class UsageMetric(Base):
    """Replica of subscription-svc's metrics, kept from metric.created events."""

    __tablename__ = "usage_metrics"

    code: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    aggregation: Mapped[str] = mapped_column(String)
    property: Mapped[str | None] = mapped_column(String)


class UsageSubscription(Base):
    """What usage billing knows of a subscription, and up to when its usage has been billed."""

    __tablename__ = "usage_subscriptions"

    id: Mapped[str] = mapped_column(String, primary_key=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    clock_id: Mapped[str | None] = mapped_column(String)
    status: Mapped[str] = mapped_column(String)
    plan_code: Mapped[str] = mapped_column(String)
    currency: Mapped[str] = mapped_column(String(3))
    current_period_start: Mapped[datetime | None] = mapped_column(TZ)
    current_period_end: Mapped[datetime | None] = mapped_column(TZ)
    started_at: Mapped[datetime] = mapped_column(TZ)
    # Usage before this instant has been billed (late events for it go on later invoices).
    billed_until: Mapped[datetime] = mapped_column(TZ)
    # False while no plan of the subscription has had a metered charge: then no usage is billable,
    # now or late, and billing skips the usage queries.
    ever_metered: Mapped[bool] = mapped_column(Boolean, server_default="false")


class UsagePlanInterval(Base):
    """The plan (and its metered charges) in force for a subscription over [valid_from, valid_to)."""

    __tablename__ = "usage_plan_intervals"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String, index=True)
    customer_id: Mapped[str] = mapped_column(String, index=True)
    valid_from: Mapped[datetime] = mapped_column(TZ)
    valid_to: Mapped[datetime | None] = mapped_column(TZ)
    status: Mapped[str] = mapped_column(String)
    plan_code: Mapped[str] = mapped_column(String)
    charges: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)


class UsageBilling(Base):
    """Usage of one metric over one window, billed (or found to be zero) on an invoice.

    `total_quantity`/`total_amount` are the window's figures after this billing; a later billing of
    the same window (late usage) bills only the difference.
    """

    __tablename__ = "usage_billings"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(String, index=True)
    metric_code: Mapped[str] = mapped_column(String)
    window_start: Mapped[datetime] = mapped_column(TZ)
    window_end: Mapped[datetime] = mapped_column(TZ)
    charge: Mapped[dict[str, Any]] = mapped_column(JSONB)
    late: Mapped[bool] = mapped_column(Boolean)
    quantity: Mapped[Decimal] = mapped_column(Numeric)
    amount: Mapped[int] = mapped_column(BigInteger)
    total_quantity: Mapped[Decimal] = mapped_column(Numeric)
    total_amount: Mapped[int] = mapped_column(BigInteger)
    invoice_id: Mapped[str | None] = mapped_column(String)
    source_event_id: Mapped[str] = mapped_column(String)
    billed_at: Mapped[datetime] = mapped_column(TZ)


class UsageRollupBatch(Base):
    """Per-customer totals of one accepted batch, waiting to be rolled up onto tenure.usage."""

    __tablename__ = "usage_rollup_batches"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    summary: Mapped[list[Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(TZ, server_default=func.now())
