"""Measurement: campaigns measured from their launch, members as they were at launch, touches
answered, inbound SMS replies, and one outcome vocabulary.

Revision ID: 0006d
Revises: 0006c

- `campaigns.launched_at` (backfilled from the first member row of each launched campaign) and
  the effect each campaign is meant to have (`target_retention_uplift`, `target_arpu_uplift_fen`);
- `campaign_members.branch_id / manager_id / tier`: the member at launch (backfilled from today's
  values, the best that exists for campaigns launched before this revision);
- `touches.responded_at`: when the customer answered the touch (attribution ranks by it);
- `sms_replies`: one row per gateway message id (UNIQUE: a redelivery is a replay);
- outcomes onto the vocabulary of shared.touches.outcomes: `not_reached` → `no_answer`, an
  accepted recommendation's `accepted` → `accepted_offer`. Downgrade leaves these values (they
  are valid words for the older code too, which only read them in reports).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006d"
down_revision = "0006c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("campaigns", sa.Column("launched_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("campaigns", sa.Column("target_retention_uplift", sa.Float(), nullable=True))
    op.add_column("campaigns", sa.Column("target_arpu_uplift_fen", sa.BigInteger(), nullable=True))
    op.add_column("campaign_members", sa.Column("branch_id", sa.Integer(), nullable=True))
    op.add_column("campaign_members", sa.Column("manager_id", sa.Integer(), nullable=True))
    op.add_column("campaign_members", sa.Column("tier", sa.String(length=12), nullable=True))
    op.create_foreign_key(
        op.f("fk_campaign_members_branch_id_org_units"), "campaign_members", "org_units", ["branch_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_campaign_members_manager_id_staff_users"), "campaign_members", "staff_users", ["manager_id"], ["id"]
    )
    op.add_column("touches", sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "sms_replies",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("gateway_message_id", sa.String(length=100), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("phone_masked", sa.String(length=20), nullable=False),
        sa.Column("body", sa.String(length=500), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keyword", sa.String(length=20), nullable=False),
        sa.Column("touch_id", sa.BigInteger(), nullable=True),
        sa.Column("subscription_id", sa.BigInteger(), nullable=True),
        sa.Column("task_id", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.String(length=30), nullable=False),
        sa.Column("detail", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_sms_replies_customer_id_customers")),
        sa.ForeignKeyConstraint(["touch_id"], ["touches.id"], name=op.f("fk_sms_replies_touch_id_touches")),
        sa.ForeignKeyConstraint(
            ["subscription_id"], ["subscriptions.id"], name=op.f("fk_sms_replies_subscription_id_subscriptions")
        ),
        sa.ForeignKeyConstraint(["task_id"], ["care_tasks.id"], name=op.f("fk_sms_replies_task_id_care_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_replies")),
        sa.UniqueConstraint("gateway_message_id", name=op.f("uq_sms_replies_gateway_message_id")),
    )
    op.create_index(op.f("ix_sms_replies_customer_id"), "sms_replies", ["customer_id"], unique=False)
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "UPDATE campaigns c SET launched_at = m.first FROM "
            "(SELECT campaign_id, min(added_at) AS first FROM campaign_members GROUP BY campaign_id) m "
            "WHERE m.campaign_id = c.id AND c.launched_at IS NULL AND c.status IN ('running', 'finished')"
        )
    )
    bind.execute(
        sa.text(
            "UPDATE campaign_members m SET branch_id = c.branch_id, tier = c.tier, manager_id = a.manager_id "
            "FROM customers c LEFT JOIN manager_assignments a ON a.customer_id = c.id WHERE c.id = m.customer_id"
        )
    )
    bind.execute(sa.text("UPDATE touches SET outcome = 'no_answer' WHERE outcome = 'not_reached'"))
    bind.execute(
        sa.text(
            "UPDATE touches SET outcome = 'accepted_offer' WHERE outcome = 'accepted' AND recommendation_id IS NOT NULL"
        )
    )
    for table in ("manager_contacts", "care_tasks"):
        bind.execute(sa.text(f"UPDATE {table} SET outcome = 'no_answer' WHERE outcome = 'not_reached'"))


def downgrade() -> None:
    op.drop_index(op.f("ix_sms_replies_customer_id"), table_name="sms_replies")
    op.drop_table("sms_replies")
    op.drop_column("touches", "responded_at")
    op.drop_constraint(op.f("fk_campaign_members_manager_id_staff_users"), "campaign_members", type_="foreignkey")
    op.drop_constraint(op.f("fk_campaign_members_branch_id_org_units"), "campaign_members", type_="foreignkey")
    for column in ("tier", "manager_id", "branch_id"):
        op.drop_column("campaign_members", column)
    for column in ("target_arpu_uplift_fen", "target_retention_uplift", "launched_at"):
        op.drop_column("campaigns", column)
