"""subscription-svc: billable metrics (usage-based billing).

Revision ID: 0002_metrics
"""

import sqlalchemy as sa
from alembic import op

from tenure_shared.migrations import TZ

revision = "0002_metrics"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metrics",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("aggregation", sa.String, nullable=False),
        sa.Column("property", sa.String),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("aggregation IN ('sum', 'max', 'count', 'unique_count')", name="aggregation_known"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
