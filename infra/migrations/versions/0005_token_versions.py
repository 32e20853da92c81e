"""Token versions for staff and merchants: access tokens die as soon as an account changes.

Revision ID: 0005a
Revises: 0004

Staff and merchant access tokens carry `ver`; the auth dependency compares it with the
account's `token_version` on every request (one primary-key lookup), and the back office bumps
the version on deactivation, role or branch change, new password, and merchant suspension or end.
Existing tokens carry no `ver`, which reads as 0, the value every row starts with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005a"
down_revision = "0004"
branch_labels = None
depends_on = None

_TABLES = ("staff_users", "merchants")


def upgrade() -> None:
    for table in _TABLES:
        op.add_column(table, sa.Column("token_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    for table in _TABLES:
        op.drop_column(table, "token_version")
