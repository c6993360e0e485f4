"""subscription-svc: the account setting `renewal_reminder_days`.

Revision ID: 0008_renewal_reminders
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_renewal_reminders"
down_revision = "0007_failure_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "account_settings", sa.Column("renewal_reminder_days", JSONB, nullable=False, server_default=sa.text("'[30, 7]'::jsonb"))
    )


def downgrade() -> None:
    op.drop_column("account_settings", "renewal_reminder_days")
