"""dunning-svc: a case keeps the policy's notify_customer and the amount it is collecting, so its
events can tell notification-svc whether, and about what, to email the customer.

Revision ID: 0003_case_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_case_notifications"
down_revision = "0002_failure_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dunning_cases", sa.Column("notify_customer", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("dunning_cases", sa.Column("amount_due", sa.BigInteger))
    op.add_column("dunning_cases", sa.Column("currency", sa.String(3)))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
