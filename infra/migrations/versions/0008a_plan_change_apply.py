"""Next-month plan changes take effect: `plan_changes.status` and `cancelled_at`, the daily
`plan_changes.apply` schedule.

Revision ID: 0008a
Revises: 0007s

A change the customer asked for from the 1st of next month is `scheduled` until the job applies it
(`customers.plan_id`, status `applied`) or it is withdrawn or superseded (`cancelled`). Every
other row (the billing feed, immediate upgrades) is `applied`. Existing app rows still in the
future become `scheduled`, so the job applies them when their month starts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008a"
down_revision = "0007s"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("plan_changes", sa.Column("status", sa.String(12), server_default="applied", nullable=False))
    op.add_column("plan_changes", sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_plan_changes_status_known"), "plan_changes", "status IN ('scheduled', 'applied', 'cancelled')"
    )
    bind = op.get_bind()
    bind.execute(
        sa.text("UPDATE plan_changes SET status = 'scheduled' WHERE source_ref LIKE 'app:%' AND changed_at > now()")
    )
    op.create_index(
        "ix_plan_changes_scheduled", "plan_changes", ["changed_at"], postgresql_where=sa.text("status = 'scheduled'")
    )
    bind.execute(
        sa.text(
            "INSERT INTO job_schedules (name, task, cron, args, description) VALUES ('plan_changes.apply', "
            "'plan_changes.apply', '10 0 * * *', '{}', 'apply plan changes whose month has started "
            "(next-month downgrades); a missed day catches up') ON CONFLICT (name) DO NOTHING"
        )
    )


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM job_schedules WHERE name = 'plan_changes.apply'"))
    op.drop_index("ix_plan_changes_scheduled", table_name="plan_changes")
    op.drop_constraint(op.f("ck_plan_changes_status_known"), "plan_changes", type_="check")
    op.drop_column("plan_changes", "cancelled_at")
    op.drop_column("plan_changes", "status")
