"""subscription-svc: why a customer cancelled, and the retention coupon offered before they do.

Revision ID: 0012_cancellation_details
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_cancellation_details"
down_revision = "0011_quotes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("cancellation_feedback", sa.String))
    op.add_column("subscriptions", sa.Column("cancellation_comment", sa.String))
    op.add_column("account_settings", sa.Column("retention_coupon_code", sa.String))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
