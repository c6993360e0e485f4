"""subscription-svc: a subscription's current or scheduled pause and its last resume.

Revision ID: 0004_pauses
"""

import sqlalchemy as sa
from alembic import op

from tenure_shared.migrations import TZ

revision = "0004_pauses"
down_revision = "0003_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("pause_at", TZ))
    op.add_column("subscriptions", sa.Column("resume_at", TZ))
    op.add_column("subscriptions", sa.Column("last_resumed_at", TZ))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
