"""health-score-svc: each worker's wants, for the shared lease assignment.

Revision ID: 0007_worker_wants
"""

from tenure_shared.migrations import add_worker_wants

revision = "0007_worker_wants"
down_revision = "0006_renewal_quotes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_worker_wants()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
