"""dunning-svc: policy, cases, attempts.

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
        "dunning_policies",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("retry_after_days", JSONB, nullable=False),
        sa.Column("final_action", sa.String, nullable=False),
        sa.Column("notify_customer", sa.Boolean, nullable=False),
    )
    op.create_table(
        "dunning_cases",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("invoice_id", sa.String, nullable=False, unique=True),
        sa.Column("subscription_id", sa.String),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("clock_id", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("retry_after_days", JSONB, nullable=False),
        sa.Column("final_action", sa.String, nullable=False),
        sa.Column("first_failed_at", TZ, nullable=False),
        sa.Column("next_retry_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "dunning_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("case_id", sa.String, sa.ForeignKey("dunning_cases.id"), nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("outcome", sa.String, nullable=False),
        sa.Column("payment_id", sa.String),
        sa.Column("failure_code", sa.String),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
