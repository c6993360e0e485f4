"""invoicing-svc: whether a subscription ever had a metered charge, so flat renewals skip the usage queries.

Revision ID: 0010_usage_ever_metered
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_usage_ever_metered"
down_revision = "0009_test_clock_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("usage_subscriptions", sa.Column("ever_metered", sa.Boolean, nullable=False, server_default="false"))
    op.execute(
        "UPDATE usage_subscriptions SET ever_metered = true WHERE EXISTS ("
        " SELECT 1 FROM usage_plan_intervals i WHERE i.subscription_id = usage_subscriptions.id AND i.charges <> '[]'::jsonb)"
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
