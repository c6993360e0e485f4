"""credit-svc: customer accounts, credit notes and their numbering, applications, refunds.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

from tenure_shared.migrations import TZ

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_accounts",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("clock_id", sa.String),
    )
    op.create_table(
        "credit_note_counters",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("last_value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("number", sa.String, nullable=False, unique=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("subscription_id", sa.String, index=True),
        sa.Column("clock_id", sa.String),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("remaining", sa.BigInteger, nullable=False),
        sa.Column("refunded", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("period_start", TZ),
        sa.Column("period_end", TZ),
        sa.Column("issued_at", TZ, nullable=False),
        sa.Column("voided_at", TZ),
        sa.Column("source_key", sa.String, unique=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("remaining >= 0", name="remaining_non_negative"),
        sa.CheckConstraint("remaining <= amount", name="remaining_within_amount"),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    # The open credits of a customer, oldest first: what an application locks and spends.
    op.create_index(
        "ix_credit_notes_open",
        "credit_notes",
        ["customer_id", "currency", "issued_at"],
        postgresql_where=sa.text("remaining > 0 AND status IN ('open', 'partially_applied')"),
    )
    op.create_table(
        "credit_applications",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("credit_note_id", sa.String, sa.ForeignKey("credit_notes.id"), nullable=False, index=True),
        sa.Column("invoice_id", sa.String, nullable=False, index=True),
        sa.Column("subscription_id", sa.String),
        sa.Column("apply_key", sa.String, nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("applied_at", TZ, nullable=False),
        sa.Column("reversed_at", TZ),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )
    op.create_table(
        "credit_apply_requests",
        sa.Column("apply_key", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("invoice_id", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "refunds",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("credit_note_id", sa.String, sa.ForeignKey("credit_notes.id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("failure_code", sa.String),
        sa.Column("refunded_at", TZ, nullable=False),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
