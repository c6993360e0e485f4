"""subscription-svc: add-ons, subscription add-ons, pending lines, scheduled changes, cancellation unused.

Revision ID: 0003_lifecycle
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import TZ

revision = "0003_lifecycle"
down_revision = "0002_metrics"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "addons",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("interval", sa.String),
        sa.Column("interval_count", sa.Integer, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount >= 0", name="addon_amount_non_negative"),
    )
    empty = sa.text("'[]'::jsonb")
    op.add_column("subscriptions", sa.Column("addons", JSONB, nullable=False, server_default=empty))
    op.add_column("subscriptions", sa.Column("pending_lines", JSONB, nullable=False, server_default=empty))
    op.add_column("subscriptions", sa.Column("scheduled_changes", JSONB, nullable=False, server_default=empty))
    op.add_column("subscriptions", sa.Column("cancellation_unused", sa.String))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
