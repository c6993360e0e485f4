"""credit-svc: the customer copy keeps the newest version it has seen.

Revision ID: 0004_customer_version
"""

from tenure_shared.migrations import add_customer_version

revision = "0004_customer_version"
down_revision = "0003_number_sequences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_customer_version()


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
