"""credit-svc: refunds carry their gateway idempotency key (pending until the gateway answered).

Revision ID: 0005_refund_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_refund_keys"
down_revision = "0004_customer_version"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("refunds", sa.Column("refund_key", sa.String, nullable=True))
    op.execute("UPDATE refunds SET refund_key = id")  # earlier refunds were settled at once
    op.alter_column("refunds", "refund_key", nullable=False)
    op.create_unique_constraint("uq_refunds_refund_key", "refunds", ["refund_key"])


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
