"""Merchant till spots: one play per customer (`hunt_spot_claims`), and the store a spot is in.

Revision ID: 0007s
Revises: 0007a

A play at a merchant_code spot inserts (hunt_id, spot_id, customer_id) in the play's transaction;
the primary key refuses a second one, so a replayed or photographed QR draws once per customer
however many scans race. Plays made before this revision are claimed (their first play), so they
cannot be replayed either. `hunt_spots.store_id` (nullable) names the merchant's store a till
spot is in; `hunt_spots.merchant_id` gets the index the merchant's spot list reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007s"
down_revision = "0007a"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("hunt_spots", sa.Column("store_id", sa.Integer(), nullable=True))
    op.create_foreign_key(
        "fk_hunt_spots_store_id_merchant_stores", "hunt_spots", "merchant_stores", ["store_id"], ["id"]
    )
    op.create_index("ix_hunt_spots_merchant_id", "hunt_spots", ["merchant_id"])
    op.create_table(
        "hunt_spot_claims",
        sa.Column("hunt_id", sa.Integer(), sa.ForeignKey("treasure_hunts.id"), nullable=False),
        sa.Column("spot_id", sa.Integer(), sa.ForeignKey("hunt_spots.id"), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("hunt_id", "spot_id", "customer_id", name="pk_hunt_spot_claims"),
    )
    op.execute(
        """
        INSERT INTO hunt_spot_claims (hunt_id, spot_id, customer_id, created_at)
        SELECT p.hunt_id, p.spot_id, p.customer_id, min(p.created_at)
        FROM hunt_plays p JOIN hunt_spots s ON s.id = p.spot_id AND s.hunt_id = p.hunt_id
        WHERE s.kind = 'merchant_code'
        GROUP BY p.hunt_id, p.spot_id, p.customer_id
        """
    )


def downgrade() -> None:
    op.drop_table("hunt_spot_claims")
    op.drop_index("ix_hunt_spots_merchant_id", table_name="hunt_spots")
    op.drop_constraint("fk_hunt_spots_store_id_merchant_stores", "hunt_spots", type_="foreignkey")
    op.drop_column("hunt_spots", "store_id")
