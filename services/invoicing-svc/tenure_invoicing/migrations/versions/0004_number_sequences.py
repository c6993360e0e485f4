"""invoicing-svc: invoice numbers move to the shared gapless-number mechanism.

Revision ID: 0004_number_sequences
"""

from tenure_shared.migrations import create_number_sequences

revision = "0004_number_sequences"
down_revision = "0003_sandbox_refunds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_number_sequences(replacing="invoice_number_counters")


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
