"""invoicing-svc: customer accounts, invoices and lines, payments, sandbox charges.

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
        "customer_accounts",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("payment_method", sa.String),
        sa.Column("clock_id", sa.String),
    )
    op.create_table(
        "invoice_number_counters",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "invoices",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("number", sa.String, nullable=False, unique=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("subscription_id", sa.String, index=True),
        sa.Column("clock_id", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("billing_reason", sa.String, nullable=False),
        sa.Column("period_start", TZ),
        sa.Column("period_end", TZ),
        sa.Column("subtotal", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("amount_due", sa.BigInteger, nullable=False),
        sa.Column("amount_paid", sa.BigInteger, nullable=False),
        sa.Column("credits_applied", JSONB, nullable=False),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("paid_at", TZ),
        sa.Column("voided_at", TZ),
        sa.Column("void_reason", sa.String),
        sa.Column("source_event_id", sa.String, unique=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount_due >= 0", name="amount_due_non_negative"),
    )
    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("invoice_id", sa.String, sa.ForeignKey("invoices.id"), nullable=False, index=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_amount", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("period_start", TZ),
        sa.Column("period_end", TZ),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("invoice_id", sa.String, sa.ForeignKey("invoices.id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("failure_code", sa.String),
        sa.Column("payment_method", sa.String),
        sa.Column("initiated_by", sa.String, nullable=False),
        sa.Column("attempt_key", sa.String, nullable=False, unique=True),
        sa.Column("attempted_at", TZ, nullable=False),
    )
    op.create_table(
        "sandbox_charges",
        sa.Column("idempotency_key", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("payment_method", sa.String, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("failure_code", sa.String),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
