"""health-score-svc: every worker active — work leases, worker heartbeats, outbox shards.

Revision ID: 0005_worker_leases
"""

from tenure_shared.migrations import add_worker_leases

revision = "0005_worker_leases"
down_revision = "0004_failure_tracking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_worker_leases()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
