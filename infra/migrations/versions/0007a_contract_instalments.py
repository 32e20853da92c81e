"""Deposit-and-rebate contracts and recharge bonuses as schedules: `contract_instalments`.

Revision ID: 0007a
Revises: 0006d

One row per rebate instalment of a subscription (seq 1..instalments, the month it falls due,
its amount, pending / paid / forfeited). The rebate job posts due rows through the ledger with
key `rebate:<subscription>:<seq>`, so a re-run or a crashed run posts nothing twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007a"
down_revision = "0007f"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contract_instalments",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.BigInteger(), sa.ForeignKey("subscriptions.id"), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("instalments", sa.Integer(), nullable=False),
        sa.Column("due_month", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("subscription_id", "seq", name="uq_contract_instalments_subscription_seq"),
    )
    op.create_index("ix_contract_instalments_customer_id", "contract_instalments", ["customer_id"])
    op.create_index("ix_contract_instalments_due_month_status", "contract_instalments", ["due_month", "status"])


def downgrade() -> None:
    op.drop_table("contract_instalments")
