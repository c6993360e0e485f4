"""invoicing-svc: the sandbox gateway's refunds (credit notes paid back through the gateway).

Revision ID: 0003_sandbox_refunds
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_sandbox_refunds"
down_revision = "0002_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sandbox_refunds",
        sa.Column("idempotency_key", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("payment_method", sa.String),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("failure_code", sa.String),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
