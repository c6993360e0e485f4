"""subscription-svc: quotes, and the account setting `quote_approval_percent_off`.

Revision ID: 0011_quotes
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import create_number_sequences

revision = "0011_quotes"
down_revision = "0010_api_keys"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_number_sequences()  # quote numbers (Q-…) are gapless, like invoice numbers
    op.add_column("account_settings", sa.Column("quote_approval_percent_off", sa.Integer, server_default="20"))
    op.create_table(
        "quotes",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("number", sa.String, unique=True),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("subscription_id", sa.String, sa.ForeignKey("subscriptions.id"), nullable=False, index=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("clock_id", sa.String),
        sa.Column("when", sa.String, nullable=False),
        sa.Column("plan_code", sa.String),
        sa.Column("quantity", sa.Integer),
        sa.Column("addons", JSONB),
        sa.Column("coupon_code", sa.String),
        sa.Column("note", sa.String),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("subtotal", sa.BigInteger, nullable=False),
        sa.Column("discount", sa.BigInteger, nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
        sa.Column("recurring_total", sa.BigInteger, nullable=False),
        sa.Column("current_recurring_amount", sa.BigInteger, nullable=False),
        sa.Column("effective_at", TZ),
        sa.Column("expires_at", TZ),
        sa.Column("requires_approval", sa.Boolean, nullable=False),
        sa.Column("approved_at", TZ),
        sa.Column("finalized_at", TZ),
        sa.Column("closed_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
