"""Partial index on open care tasks by customer and due date.

Revision ID: 0003
Revises: 0002

The manager's customer list counts each customer's overdue open tasks; with this index every
count is an index-only probe instead of a bitmap heap scan over the customer's tasks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_care_tasks_open_customer_due",
        "care_tasks",
        ["customer_id", "due_on"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress')"),
    )


def downgrade() -> None:
    op.drop_index("ix_care_tasks_open_customer_due", table_name="care_tasks")
