"""subscription-svc: a version on customers, so other services' copies keep the newest.

Revision ID: 0005_customer_version
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_customer_version"
down_revision = "0004_pauses"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("version", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
