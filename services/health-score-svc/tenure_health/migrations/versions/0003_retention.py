"""health-score-svc: MRR history and invoices for retention reports and renewals.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

from tenure_shared.migrations import TZ

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_mrr_states",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.String, nullable=False, unique=True),
        sa.Column("subscription_id", sa.String, nullable=False, index=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("verb", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("on_free_plan", sa.Boolean, nullable=False),
        sa.Column("plan_code", sa.String, nullable=False),
        sa.Column("interval", sa.String, nullable=False),
        sa.Column("interval_count", sa.Integer, nullable=False),
        sa.Column("period_amount", sa.BigInteger, nullable=False),
        sa.Column("mrr_numerator", sa.BigInteger, nullable=False),
        sa.Column("mrr_denominator", sa.BigInteger, nullable=False),
        sa.Column("current_period_end", TZ),
        sa.Column("billing_reason", sa.String),
        sa.Column("cancellation_scheduled", sa.Boolean, nullable=False),
        sa.Column("next_plan_code", sa.String),
        sa.Column("next_period_amount", sa.BigInteger),
        sa.Column("next_mrr_numerator", sa.BigInteger),
        sa.Column("next_mrr_denominator", sa.BigInteger),
    )
    op.create_index("ix_health_mrr_states_clock_at", "health_mrr_states", ["clock_id", "at"])
    op.create_table(
        "health_mrr_invoices",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("subscription_id", sa.String),
        sa.Column("source_event_id", sa.String, index=True),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
