"""Intra-month usage: `daily_usage`, one row per customer and day.

Revision ID: 0007g
Revises: 0008e

What the billing system's daily (CDR) summary says a subscriber used on one day: voice minutes,
mobile data, SMS and the roaming / long-distance / pay-per-use data charges of that day. The
four-high daily list (shared.engine.fourhigh) reads the month-to-date rows, pro-rated against the
monthly allowance; monthly_usage stays the month's record of account. Loaded by the `daily_usage`
import layout (and the demo generator for the current month).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007g"
down_revision = "0008e"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_usage",
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("voice_min", sa.Integer(), server_default="0", nullable=False),
        sa.Column("data_mb", sa.Integer(), server_default="0", nullable=False),
        sa.Column("sms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("roaming_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("long_distance_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("payg_data_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "day", name="pk_daily_usage"),
    )


def downgrade() -> None:
    op.drop_table("daily_usage")
