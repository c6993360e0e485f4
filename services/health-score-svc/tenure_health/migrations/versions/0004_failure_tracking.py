"""health-score-svc: dead letters keep their envelope; due jobs carry next_attempt_at (durable back-off).

Revision ID: 0004_failure_tracking
"""

from tenure_shared.migrations import add_failure_tracking

revision = "0004_failure_tracking"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_failure_tracking()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
