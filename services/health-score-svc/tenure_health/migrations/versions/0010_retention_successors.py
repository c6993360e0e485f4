"""health-score-svc: each MRR state keeps its successor facts (the next state's instant, the subscription's
first instant with MRR, whether the renewal due at its period end was renewed) and each invoice whether it is a
deal, so the retention report reads the states in force at its window's ends, the renewals due in it and its
deals from indexes, with no window function and no join.

Revision ID: 0010_retention_successors
"""

import sqlalchemy as sa
from alembic import op

from tenure_shared.migrations import TZ

revision = "0010_retention_successors"
down_revision = "0009_retention_speed"
branch_labels = None
depends_on = None

IN_FORCE = ["subscription_id", "customer_id", "currency", "paused", "mrr_numerator", "mrr_denominator", "first_mrr_at"]


def upgrade() -> None:
    op.add_column("health_mrr_states", sa.Column("next_at", TZ, nullable=False, server_default="infinity"))
    op.add_column("health_mrr_states", sa.Column("first_mrr_at", TZ, nullable=False, server_default="infinity"))
    op.add_column("health_mrr_states", sa.Column("renewed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("health_mrr_invoices", sa.Column("deal_at", TZ))
    # The facts of the states already kept, as reports.link_states computes them (here for every subscription).
    op.execute(
        """
        WITH renewals AS (
            SELECT DISTINCT r.subscription_id, r.at FROM health_mrr_states r
            WHERE r.verb = 'renewed' AND NOT EXISTS (
                SELECT 1 FROM health_mrr_invoices i
                WHERE i.source_event_id = r.event_id AND i.status = 'void' AND i.currency = r.currency
                  AND i.clock_id IS NOT DISTINCT FROM r.clock_id)
        ),
        linked AS (
            SELECT s.id,
                   coalesce(lead(s.at) OVER subscription, 'infinity') AS next_at,
                   coalesce(min(s.at) FILTER (WHERE s.mrr_numerator > 0) OVER whole, 'infinity') AS first_mrr_at,
                   n.at IS NOT NULL AS renewed
            FROM health_mrr_states s
            LEFT JOIN renewals n ON n.subscription_id = s.subscription_id AND n.at = s.current_period_end
            WINDOW subscription AS (PARTITION BY s.subscription_id ORDER BY s.at, s.id),
                   whole AS (PARTITION BY s.subscription_id)
        )
        UPDATE health_mrr_states s SET next_at = l.next_at, first_mrr_at = l.first_mrr_at, renewed = l.renewed
        FROM linked l WHERE s.id = l.id
        """
    )
    # The invoices that are deals, as reports.link_deals marks them (here for every invoice).
    op.execute(
        """
        UPDATE health_mrr_invoices i SET deal_at = s.at
        FROM health_mrr_states s
        WHERE s.event_id = i.source_event_id AND s.clock_id IS NOT DISTINCT FROM i.clock_id
          AND s.billing_reason IN ('subscription_create', 'subscription_cycle')
        """
    )
    # The least common multiple of MRR denominators: the report sums MRR exactly as integers over it (bigint:
    # several times faster than numeric; an overflow is an error, never a wrong figure).
    op.execute("CREATE AGGREGATE health_lcm(bigint) (SFUNC = lcm, STYPE = bigint, INITCOND = '1')")
    # The states in force at an instant t (at <= t < next_at): from the end of the states before t, or from
    # the start of those that end after it, whichever the planner finds shorter; index only either way.
    op.drop_index("ix_health_mrr_states_clock_at", table_name="health_mrr_states")
    op.create_index(
        "ix_health_mrr_states_clock_at",
        "health_mrr_states",
        ["clock_id", "at"],
        postgresql_include=["next_at", *IN_FORCE],
    )
    op.create_index(
        "ix_health_mrr_states_clock_next_at",
        "health_mrr_states",
        ["clock_id", "next_at"],
        postgresql_include=["at", *IN_FORCE],
    )
    # The renewals due, by the date they fall due: a period end with MRR in force just before it.
    op.create_index(
        "ix_health_mrr_states_renewals_due",
        "health_mrr_states",
        ["clock_id", "currency", "current_period_end"],
        postgresql_include=["mrr_numerator", "mrr_denominator", "renewed"],
        postgresql_where=sa.text("mrr_numerator > 0 AND at < current_period_end AND current_period_end <= next_at"),
    )
    op.create_index(
        "ix_health_mrr_states_free_plan_moves",
        "health_mrr_states",
        ["clock_id", "currency", "at"],
        postgresql_where=sa.text("verb = 'moved_to_free_plan'"),
    )

    op.create_index(
        "ix_health_mrr_invoices_deals",
        "health_mrr_invoices",
        ["clock_id", "currency", "issued_at"],
        postgresql_include=["total", "deal_at"],
        postgresql_where=sa.text("status = 'paid' AND deal_at IS NOT NULL"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
