"""credit-svc: credit-note numbers move to the shared gapless-number mechanism.

Revision ID: 0003_number_sequences
"""

from tenure_shared.migrations import create_number_sequences

revision = "0003_number_sequences"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_number_sequences(replacing="credit_note_counters")


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
