"""Coupon codes no longer stored in plain text: an HMAC for the till's lookup, sealed for the owner.

Revision ID: 0006a
Revises: 0004

`coupons.code` becomes `code_hash` (hex HMAC-SHA256, UNIQUE, what the till looks up) and
`code_sealed` (AES-256-GCM, what the customer app unseals to show the owner their code again),
both under keys derived from TENURE_COUPON_CODE_KEY (shared.alliance.codes), which must therefore
be the same key the services run with. Existing rows are converted in id batches; the downgrade
unseals them back into `code`. Run it with the services stopped: old code writes plain codes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.alliance import codes

revision = "0006a"
down_revision = "0005a"
branch_labels = None
depends_on = None

BATCH = 5_000


def _convert(select_sql: str, update_sql: str, transform) -> None:  # type: ignore[no-untyped-def]
    """Rewrite every coupon row in id order, BATCH rows per round trip."""
    bind = op.get_bind()
    last = 0
    while rows := bind.execute(sa.text(select_sql), {"last": last, "n": BATCH}).all():
        bind.execute(sa.text(update_sql), [{"id": r[0], **transform(r[1])} for r in rows])
        last = rows[-1][0]


def upgrade() -> None:
    op.add_column("coupons", sa.Column("code_hash", sa.String(length=64), nullable=True))
    op.add_column("coupons", sa.Column("code_sealed", sa.LargeBinary(), nullable=True))
    _convert(
        "SELECT id, code FROM coupons WHERE id > :last ORDER BY id LIMIT :n",
        "UPDATE coupons SET code_hash = :h, code_sealed = :s WHERE id = :id",
        lambda code: {"h": codes.lookup_hash(code), "s": codes.seal(code)},
    )
    op.alter_column("coupons", "code_hash", nullable=False)
    op.alter_column("coupons", "code_sealed", nullable=False)
    op.create_unique_constraint(op.f("uq_coupons_code_hash"), "coupons", ["code_hash"])
    op.drop_constraint(op.f("uq_coupons_code"), "coupons", type_="unique")
    op.drop_column("coupons", "code")


def downgrade() -> None:
    op.add_column("coupons", sa.Column("code", sa.String(length=40), nullable=True))
    _convert(
        "SELECT id, code_sealed FROM coupons WHERE id > :last ORDER BY id LIMIT :n",
        "UPDATE coupons SET code = :c WHERE id = :id",
        lambda sealed: {"c": codes.unseal(sealed)},
    )
    op.alter_column("coupons", "code", nullable=False)
    op.create_unique_constraint(op.f("uq_coupons_code"), "coupons", ["code"])
    op.drop_constraint(op.f("uq_coupons_code_hash"), "coupons", type_="unique")
    op.drop_column("coupons", "code_sealed")
    op.drop_column("coupons", "code_hash")
