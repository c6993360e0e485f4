"""dunning-svc: per-clock event counters kept by triggers, so the settle check reads a few rows.

Revision ID: 0006_test_clock_counters
"""

from tenure_shared.migrations import add_test_clock_counters

revision = "0006_test_clock_counters"
down_revision = "0005_worker_wants"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_test_clock_counters()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
