"""notification-svc: customer copies, webhook endpoints, deliveries and attempts, email settings and emails.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from tenure_shared.migrations import TZ, create_mechanism_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_mechanism_tables()
    op.create_table(
        "customer_accounts",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("clock_id", sa.String),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("email", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
    )
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("url", sa.String, nullable=False),
        sa.Column("event_types", JSONB, nullable=False),
        sa.Column("description", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("disabled_reason", sa.String),
        sa.Column("secret", sa.String, nullable=False),
        sa.Column("previous_secret", sa.String),
        sa.Column("previous_secret_expires_at", TZ),
        sa.Column("deleted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("endpoint_id", sa.String, sa.ForeignKey("webhook_endpoints.id"), nullable=False, index=True),
        sa.Column("event_id", sa.String, nullable=False),
        sa.Column("event_type", sa.String, nullable=False),
        sa.Column("envelope", JSONB, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_event"),
    )
    # The delivery loop's question: which pending deliveries are due now?
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"], postgresql_where=sa.text("status = 'pending'")
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.String, sa.ForeignKey("webhook_deliveries.id"), nullable=False, index=True),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_table(
        "email_settings",
        sa.Column("template", sa.String, primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
    )
    op.create_table(
        "emails",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False, index=True),
        sa.Column("to", sa.String, nullable=False),
        sa.Column("template", sa.String, nullable=False),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("text_body", sa.Text, nullable=False),
        sa.Column("html_body", sa.Text, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("event_id", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TZ),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("event_id", "template", name="uq_email_event_template"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
