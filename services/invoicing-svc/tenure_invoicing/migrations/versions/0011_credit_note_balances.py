"""invoicing-svc: the remainders of credit notes, kept from credit-svc's credit events, so billing
asks credit-svc only when the customer has credit to spend (or credits were spent on the invoice).

Revision ID: 0011_credit_note_balances

The consumer reads tenure.credits from its start (no offset stored for it yet), but the broker may
have dropped old events: every customer known now gets a row of unknown balance, so billing keeps
asking credit-svc for them until credit-svc spends less than it was asked (nothing left).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_credit_note_balances"
down_revision = "0010_usage_ever_metered"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_note_balances",
        sa.Column("credit_note_id", sa.String, primary_key=True),
        sa.Column("customer_id", sa.String, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("remaining", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "ix_credit_note_balances_spendable",
        "credit_note_balances",
        ["customer_id", "currency"],
        postgresql_where=sa.text("remaining > 0"),
    )
    op.create_table("credit_spent_on_invoices", sa.Column("invoice_id", sa.String, primary_key=True))
    op.execute(
        "INSERT INTO credit_note_balances (credit_note_id, customer_id, currency, remaining)"
        " SELECT 'unknown:' || id, id, currency, 1 FROM customer_accounts"
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
