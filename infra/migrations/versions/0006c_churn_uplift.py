"""customer_profiles.uplift_score: the expected fall in churn probability if the customer is contacted.

Revision ID: 0006c
Revises: 0006b

Written by the nightly churn scoring when the active model carries an uplift model (learnt from
campaign hold-outs, issue 19); NULL otherwise. Strategy matching reads it (`persuadable`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006c"
down_revision = "0006b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customer_profiles", sa.Column("uplift_score", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("customer_profiles", "uplift_score")
