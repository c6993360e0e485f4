"""subscription-svc: coupons, promotion codes and the discounts running on subscriptions.

Revision ID: 0006_discounts
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_discounts"
down_revision = "0005_customer_version"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "coupons",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("percent_off", sa.Numeric(5, 2)),
        sa.Column("amount_off", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("duration", sa.String, nullable=False),
        sa.Column("duration_in_periods", sa.Integer),
        sa.Column("applies_to", JSONB),
        sa.Column("max_redemptions", sa.Integer),
        sa.Column("redeem_by", TZ),
        sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "promotion_codes",
        sa.Column("code", sa.String, primary_key=True),
        sa.Column("coupon_code", sa.String, sa.ForeignKey("coupons.code"), nullable=False, index=True),
        sa.Column("max_redemptions", sa.Integer),
        sa.Column("expires_at", TZ),
        sa.Column("first_time_only", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("minimum_amount", sa.BigInteger),
        sa.Column("customer_id", sa.String),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "discounts",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("created_seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("subscription_id", sa.String, sa.ForeignKey("subscriptions.id"), nullable=False, index=True),
        sa.Column("coupon_code", sa.String, sa.ForeignKey("coupons.code"), nullable=False, index=True),
        sa.Column("promotion_code", sa.String, index=True),
        sa.Column("percent_off", sa.Numeric(5, 2)),
        sa.Column("amount_off", sa.BigInteger),
        sa.Column("currency", sa.String(3)),
        sa.Column("duration", sa.String, nullable=False),
        sa.Column("duration_in_periods", sa.Integer),
        sa.Column("applies_to", JSONB),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ended_at", TZ),
        sa.Column("uses", JSONB, nullable=False, server_default="[]"),
    )


def downgrade() -> None:
    raise NotImplementedError("Tenure migrations move forward only.")
