"""Customer tags as one array row per customer; tag counts kept on the definitions.

Revision ID: 0002
Revises: 0001

The nightly tags stage wrote ~30 (customer, tag) rows for each customer: 29M rows with two
indexes and two foreign-key checks each at 1M customers, the longest stage of the run by far.
`customer_tag_sets` holds one sorted `int[]` per customer instead; existing rows are carried over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_tag_sets",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_ids", postgresql.ARRAY(sa.Integer()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_tag_sets_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_customer_tag_sets")),
    )
    op.execute(
        "INSERT INTO customer_tag_sets (customer_id, tag_ids, since, updated_at) "
        "SELECT customer_id, array_agg(tag_id ORDER BY tag_id), min(since), max(since) "
        "FROM customer_tags GROUP BY customer_id"
    )
    op.drop_index("ix_customer_tags_tag_id", table_name="customer_tags")
    op.drop_table("customer_tags")
    op.add_column("tag_definitions", sa.Column("customers", sa.Integer(), server_default=sa.text("0"), nullable=False))
    op.add_column("tag_definitions", sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE tag_definitions d SET customers = n.customers, counted_at = now() "
        "FROM (SELECT t AS tag_id, count(*) AS customers FROM customer_tag_sets, unnest(tag_ids) AS t GROUP BY t) n "
        "WHERE n.tag_id = d.id"
    )


def downgrade() -> None:
    op.create_table(
        "customer_tags",
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_customer_tags_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["tag_id"], ["tag_definitions.id"], name=op.f("fk_customer_tags_tag_id_tag_definitions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("customer_id", "tag_id", name=op.f("pk_customer_tags")),
    )
    op.create_index("ix_customer_tags_tag_id", "customer_tags", ["tag_id"], unique=False)
    op.execute(
        "INSERT INTO customer_tags (customer_id, tag_id, since) "
        "SELECT s.customer_id, t, s.since FROM customer_tag_sets s, unnest(s.tag_ids) AS t "
        "WHERE EXISTS (SELECT 1 FROM tag_definitions d WHERE d.id = t)"
    )
    op.drop_column("tag_definitions", "counted_at")
    op.drop_column("tag_definitions", "customers")
    op.drop_table("customer_tag_sets")
