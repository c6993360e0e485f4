"""subscription-svc: API keys and portal sessions (hashed credentials).

Revision ID: 0010_api_keys
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010_api_keys"
down_revision = "0009_worker_leases"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("key_hash", sa.String, nullable=False, unique=True),
        sa.Column("prefix", sa.String, nullable=False),
        sa.Column("scopes", JSONB, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_used_at", TZ),
        sa.Column("revoked_at", TZ),
    )
    op.create_table(
        "portal_sessions",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, sa.ForeignKey("customers.id"), nullable=False, index=True),
        sa.Column("return_url", sa.String),
        sa.Column("link_hash", sa.String, nullable=False, unique=True),
        sa.Column("link_expires_at", TZ, nullable=False),
        sa.Column("link_used_at", TZ),
        sa.Column("session_hash", sa.String, unique=True),
        sa.Column("session_expires_at", TZ),
        sa.Column("last_seen_at", TZ),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("portal_sessions")
    op.drop_table("api_keys")
