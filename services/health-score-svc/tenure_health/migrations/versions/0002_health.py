"""health-score-svc: customers and their facts, signals, score history, the model.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import TZ

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "health_customers",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("currency", sa.String(3)),
        sa.Column("clock_id", sa.String, index=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", TZ),
        sa.Column("first_value_at", TZ),
        sa.Column("score", sa.Integer),
        sa.Column("status", sa.String),
        sa.Column("stage", sa.String),
        sa.Column("profile", sa.String),
        sa.Column("factors", JSONB),
        sa.Column("computed_at", TZ),
        sa.Column("risk_episode_open", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_health_customers_clock_score", "health_customers", ["clock_id", "score", "id"])
    op.create_table(
        "health_subscriptions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("plan_code", sa.String, nullable=False),
        sa.Column("plan_amount", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("current_period_start", TZ),
        sa.Column("current_period_end", TZ),
        sa.Column("on_free_plan", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("included_units", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("cancellation_scheduled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "health_billing_facts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("reference", sa.String),
    )
    op.create_table(
        "health_invoices",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("amount_due", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("first_failed_at", TZ),
    )
    op.create_table(
        "health_dunning_cases",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("started_at", TZ, nullable=False),
    )
    op.create_table(
        "health_usage",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("units", sa.Numeric, nullable=False),
    )
    op.create_table(
        "health_tickets",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ),
        sa.Column("severity", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("subject", sa.String),
    )
    op.create_table(
        "health_surveys",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("comment", sa.String),
        sa.Column("answered_at", TZ, nullable=False),
    )
    op.create_table(
        "health_activity",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("user_id", sa.String),
        sa.Column("at", TZ, nullable=False),
        sa.Column("count", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "health_scores",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("stage", sa.String, nullable=False),
        sa.Column("computed_at", TZ, nullable=False, index=True),
        sa.Column("factors", JSONB, nullable=False),
    )
    op.create_table(
        "health_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model", JSONB, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
