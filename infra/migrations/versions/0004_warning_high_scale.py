"""The built-in `warning_high` tag on the warning coefficient's own scale (0-100, not 0-1).

Revision ID: 0004
Revises: 0003

`customer_profiles.warning_coefficient` is the calibrated churn probability x 100; the tag
compared it with 0.7, so it held nearly everyone with a churn probability of 0.7 % or more.
Only an unedited built-in rule is rewritten: a rule the back office changed is left as it is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD = ('{"field": "warning_coefficient", "op": ">=", "value": 0.7}', "预警系数 ≥0.7")
_NEW = ('{"field": "warning_coefficient", "op": ">=", "value": 70}', "预警系数 ≥70")


def _swap(frm: tuple[str, str], to: tuple[str, str]) -> None:
    op.get_bind().execute(
        sa.text(
            "UPDATE tag_definitions SET rule = CAST(:to_rule AS jsonb), name = :to_name, version = version + 1 "
            "WHERE code = 'warning_high' AND builtin AND CAST(rule AS jsonb) = CAST(:from_rule AS jsonb)"
        ),
        {"to_rule": to[0], "to_name": to[1], "from_rule": frm[0]},
    )


def upgrade() -> None:
    _swap(_OLD, _NEW)


def downgrade() -> None:
    _swap(_NEW, _OLD)
