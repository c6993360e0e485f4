"""health-score-svc: each subscription's quotes, for the renewal forecast.

Revision ID: 0006_renewal_quotes
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_renewal_quotes"
down_revision = "0005_worker_leases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_quotes",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("subscription_id", sa.String, nullable=False),
        sa.Column("number", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("recurring_total", sa.BigInteger, nullable=False),
        sa.Column("current_recurring_amount", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_renewal_quotes_subscription_id", "renewal_quotes", ["subscription_id"])


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
