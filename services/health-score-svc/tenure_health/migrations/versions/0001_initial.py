"""health-score-svc: the mechanism tables (outbox, inbox, due work, clock times, idempotency keys).

Revision ID: 0001
"""

from tenure_shared.migrations import create_mechanism_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_mechanism_tables()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
