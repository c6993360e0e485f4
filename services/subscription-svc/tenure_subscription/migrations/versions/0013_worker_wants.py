"""subscription-svc: each worker's wants, for the shared lease assignment.

Revision ID: 0013_worker_wants
"""

from tenure_shared.migrations import add_worker_wants

revision = "0013_worker_wants"
down_revision = "0012_cancellation_details"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_worker_wants()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
