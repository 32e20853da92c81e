"""One open offer per customer and purpose (issue 14): `recommendations.purpose` and `.origin`,
and the partial unique index `uq_recommendations_open_purpose` in place of the per-strategy one.

Revision ID: 0007o
Revises: 0008a

Existing rows get their origin (a campaign id → `campaign`; no strategy → `key_moment`; else
`strategy`) and purpose (key moments → `retention`; else from the strategy's condition, the rule
of shared.engine.offers.purpose_of copied here so the migration does not move with the code).
Duplicates among open rows are resolved deterministically before the index is built: per
(customer, purpose) the highest-ranked origin (key moment > campaign > strategy) stays open, then
the newest (created_at, id); the others become `superseded`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007o"
down_revision = "0008a"
branch_labels = None
depends_on = None

RANK = "CASE {c} WHEN 'key_moment' THEN 3 WHEN 'campaign' THEN 2 WHEN 'strategy' THEN 1 ELSE 0 END"
RETENTION_TAGS = "ARRAY['contract_end_30d', 'contract_end_60d', 'contract_end_90d']"


def upgrade() -> None:
    op.add_column(
        "recommendations", sa.Column("purpose", sa.String(length=20), server_default="cross_sell", nullable=False)
    )
    op.add_column(
        "recommendations", sa.Column("origin", sa.String(length=12), server_default="strategy", nullable=False)
    )
    bind = op.get_bind()
    bind.execute(
        sa.text(
            """
            UPDATE recommendations r SET
              origin = CASE WHEN r.campaign_id IS NOT NULL THEN 'campaign'
                            WHEN r.strategy_id IS NULL THEN 'key_moment' ELSE 'strategy' END,
              purpose = CASE
                WHEN r.campaign_id IS NULL AND r.strategy_id IS NULL THEN 'retention'
                WHEN s.condition IS NULL OR jsonb_typeof(s.condition) <> 'object' THEN 'cross_sell'
                WHEN s.condition ? 'risk' OR s.condition ? 'persuadable'
                  OR coalesce(s.condition -> 'segment', '[]') ? 'potential_loss'
                  OR coalesce(s.condition -> 'tags_any', '[]') ?| """
            + RETENTION_TAGS
            + """
                  OR coalesce(s.condition -> 'tags_all', '[]') ?| """
            + RETENTION_TAGS
            + """ THEN 'retention'
                WHEN s.condition ? 'four_high' THEN 'four_high'
                ELSE 'cross_sell' END
            FROM recommendations r2 LEFT JOIN strategies s ON s.id = r2.strategy_id
            WHERE r2.id = r.id
            """
        )
    )
    bind.execute(
        sa.text(
            f"""
            UPDATE recommendations SET status = 'superseded'
            WHERE id IN (
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY customer_id, purpose
                                                  ORDER BY {RANK.format(c="origin")} DESC, created_at DESC, id DESC) AS n
                    FROM recommendations WHERE status = 'open') x
                WHERE x.n > 1)
            """
        )
    )
    op.drop_index("uq_recommendations_open", table_name="recommendations")
    op.create_index(
        "uq_recommendations_open_purpose",
        "recommendations",
        ["customer_id", "purpose"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )


def downgrade() -> None:
    op.drop_index("uq_recommendations_open_purpose", table_name="recommendations")
    op.create_index(
        "uq_recommendations_open",
        "recommendations",
        ["customer_id", "strategy_id"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_column("recommendations", "origin")
    op.drop_column("recommendations", "purpose")
