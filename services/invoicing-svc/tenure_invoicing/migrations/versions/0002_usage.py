"""invoicing-svc: usage events, the metric and subscription replicas usage is billed from, usage
billings, and the roll-up queue for tenure.usage; invoice lines gain an exact decimal quantity.

Revision ID: 0002_usage
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import TZ

revision = "0002_usage"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The ingestion hot path writes here: a primary key (the dedupe) and one index (the billing
    # aggregates), nothing more, so every extra index is a cost paid per event.
    op.create_table(
        "usage_events",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("subscription_id", sa.String),
        sa.Column("metric_code", sa.String, nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("value", sa.Numeric),
        sa.Column("properties", JSONB),
        sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_usage_events_customer_metric_time", "usage_events", ["customer_id", "metric_code", "occurred_at"])
    op.create_table(
        "usage_metrics",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("aggregation", sa.String, nullable=False),
        sa.Column("property", sa.String),
    )
    op.create_table(
        "usage_subscriptions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("clock_id", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("plan_code", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("current_period_start", TZ),
        sa.Column("current_period_end", TZ),
        sa.Column("started_at", TZ, nullable=False),
        sa.Column("billed_until", TZ, nullable=False),
    )
    op.create_table(
        "usage_plan_intervals",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.String, nullable=False, index=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("valid_from", TZ, nullable=False),
        sa.Column("valid_to", TZ),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("plan_code", sa.String, nullable=False),
        sa.Column("charges", JSONB, nullable=False),
    )
    op.create_table(
        "usage_billings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.String, nullable=False, index=True),
        sa.Column("metric_code", sa.String, nullable=False),
        sa.Column("window_start", TZ, nullable=False),
        sa.Column("window_end", TZ, nullable=False),
        sa.Column("charge", JSONB, nullable=False),
        sa.Column("late", sa.Boolean, nullable=False),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("total_quantity", sa.Numeric, nullable=False),
        sa.Column("total_amount", sa.BigInteger, nullable=False),
        sa.Column("invoice_id", sa.String),
        sa.Column("source_event_id", sa.String, nullable=False),
        sa.Column("billed_at", TZ, nullable=False),
    )
    op.create_table(
        "usage_rollup_batches",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("summary", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.add_column("invoice_lines", sa.Column("quantity_decimal", sa.String))
    op.add_column("invoice_lines", sa.Column("details", JSONB))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
