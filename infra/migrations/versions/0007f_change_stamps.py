"""Change stamps for an incremental night: `updated_at` on the churn model's input tables, and
the engine's watermarks.

Revision ID: 0007f
Revises: 0006d

- `monthly_usage`, `complaints`, `competitor_calls`, `handsets` get `updated_at` (now() on
  insert; the import merges and feeds set it when they change a row). A constant default on
  ADD COLUMN is stored in the catalogue, so this does not rewrite the tables. A BRIN index on each
  (and on `customers.updated_at`) lets the engine find what changed since a stamp without
  walking the tables' B-trees: rows stamped since the last night sit at the heap's end.
- `engine_watermarks`: per incremental computation (e.g. churn scoring) the instant its last
  complete pass started and what it depended on (model version, cut-off month); the next night
  recomputes only customers changed since then, or everything when the key differs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007f"
down_revision = "0007d"
branch_labels = None
depends_on = None

STAMPED = ["monthly_usage", "complaints", "competitor_calls", "handsets"]


def upgrade() -> None:
    for table in STAMPED:
        op.add_column(
            table, sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)
        )
        op.execute(f"CREATE INDEX ix_{table}_updated_at_brin ON {table} USING brin (updated_at)")
    op.execute("CREATE INDEX ix_customers_updated_at_brin ON customers USING brin (updated_at)")
    op.create_table(
        "engine_watermarks",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("engine_watermarks")
    op.execute("DROP INDEX IF EXISTS ix_customers_updated_at_brin")
    for table in STAMPED:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_updated_at_brin")
        op.drop_column(table, "updated_at")
