"""health-score-svc: the retention report reads a clock's MRR states in each subscription's order from one
index that holds every column it needs (an index-only scan, no sort, no other clock's rows).

Revision ID: 0009_retention_speed
"""

from alembic import op

revision = "0009_retention_speed"
down_revision = "0008_test_clock_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_health_mrr_states_clock_subscription",
        "health_mrr_states",
        ["clock_id", "subscription_id", "at", "id"],
        postgresql_include=[
            "customer_id",
            "currency",
            "verb",
            "paused",
            "current_period_end",
            "mrr_numerator",
            "mrr_denominator",
        ],
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
