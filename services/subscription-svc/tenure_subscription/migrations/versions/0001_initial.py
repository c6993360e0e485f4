"""subscription-svc: catalog, customers, settings, subscriptions, timeline, test clocks.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import TZ, create_mechanism_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_mechanism_tables()
    op.create_table(
        "plans",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("interval", sa.String, nullable=False),
        sa.Column("interval_count", sa.Integer, nullable=False),
        sa.Column("trial_days", sa.Integer, nullable=False),
        sa.Column("features", JSONB, nullable=False),
        sa.Column("metered_charges", JSONB, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount >= 0", name="amount_non_negative"),
    )
    op.create_table(
        "test_clocks",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String),
        sa.Column("frozen_time", TZ, nullable=False),
        sa.Column("target_time", TZ, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("external_id", sa.String, unique=True),
        sa.Column("payment_method", sa.String),
        sa.Column("test_clock_id", sa.String, index=True),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "account_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("free_plan_code", sa.String),
        sa.Column("trial_end_action", sa.String, nullable=False),
        sa.Column("proration", sa.String, nullable=False),
        sa.Column("redeem_credits", sa.Boolean, nullable=False),
        sa.Column("reactivation_requires_payment", sa.Boolean, nullable=False),
        sa.Column("timezone", sa.String, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("plan_code", sa.String, sa.ForeignKey("plans.code"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("billing_anchor", TZ),
        sa.Column("period_index", sa.Integer, nullable=False),
        sa.Column("current_period_start", TZ),
        sa.Column("current_period_end", TZ),
        sa.Column("trial_end", TZ),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
        sa.Column("cancelled_at", TZ),
        sa.Column("on_free_plan", sa.Boolean, nullable=False),
        sa.Column("last_paid_plan_code", sa.String),
        sa.Column("unpaid", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )
    op.create_table(
        "subscription_timeline",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.String, sa.ForeignKey("subscriptions.id"), nullable=False, index=True),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("data", JSONB, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
