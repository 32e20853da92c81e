"""The incremental night for every customer stage: change stamps on the remaining inputs,
dates instead of countdowns in the feature view, and the previous pass's day on watermarks.

Revision ID: 0008i
Revises: 0007g

- `subscriptions`, `touches`, `recommendations` get `updated_at`, set by a trigger on every
  insert and update (they are written from many code paths: the apps, the feeds, the engine),
  and BRIN-indexed like the other stamped tables (0007f). `customers` gets the same trigger: its
  `updated_at` was set by each writer, and a writer that forgot would hide a change from the
  night (the big feed tables keep their writers' stamps: a row trigger would slow their COPY).
- `customer_features` stores `contract_end` and `birthday` instead of `days_to_contract_end` and
  `days_to_birthday`: a countdown changes every customer's row every night, a date never does.
  Rules still say `days_to_contract_end` / `days_to_birthday`; the whitelist compiler turns them
  into expressions over the stored dates and the run day (`tenure_days_to_birthday`).
  `computed_at` (moved only when a row changes) and `customer_tag_sets.updated_at` get B-trees:
  the next stage's "what changed since my last pass" is a range scan; `customer_tag_history.at`
  a BRIN (append-only): strategies follow only the tags their conditions name.
- `customer_features.join_date` (the customer-row facts the view copies are compared, not
  stamped: the tiers stage's own writes to `customers` must not make every re-tiered customer
  "changed" for the next night's features) and `customer_profiles.scored_at`, moved by the churn
  stage alone (the profiles stage reads the churn columns, and its own writes move `updated_at`).
- `engine_watermarks.run_date`: the day the last pass ran for, so a pass can find what crossed a
  time boundary between the two days (a complaint leaving the 90-day window, a birthday).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008i"
down_revision = "0007g"
branch_labels = None
depends_on = None

STAMPED = ["subscriptions", "touches", "recommendations"]

DAYS_TO_BIRTHDAY = """
CREATE OR REPLACE FUNCTION tenure_days_to_birthday(birthday date, day date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN birthday IS NOT NULL THEN
        make_date(extract(year FROM day)::int
                  + CASE WHEN (extract(month FROM birthday), extract(day FROM birthday))
                              < (extract(month FROM day), extract(day FROM day)) THEN 1 ELSE 0 END,
                  extract(month FROM birthday)::int,
                  CASE WHEN extract(month FROM birthday) = 2 AND extract(day FROM birthday) = 29 THEN 28
                       ELSE extract(day FROM birthday)::int END) - day
    END
$$
"""

STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION tenure_stamp_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$
"""


def upgrade() -> None:
    op.execute(STAMP_FUNCTION)
    for table in STAMPED:
        op.add_column(
            table, sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)
        )
        op.execute(f"CREATE INDEX ix_{table}_updated_at_brin ON {table} USING brin (updated_at)")
        op.execute(
            f"CREATE TRIGGER trg_{table}_updated_at BEFORE INSERT OR UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tenure_stamp_updated_at()"
        )
    op.execute(
        "CREATE TRIGGER trg_customers_updated_at BEFORE INSERT OR UPDATE ON customers "
        "FOR EACH ROW EXECUTE FUNCTION tenure_stamp_updated_at()"
    )
    op.execute(DAYS_TO_BIRTHDAY)
    op.add_column("customer_features", sa.Column("contract_end", sa.Date()))
    op.add_column("customer_features", sa.Column("birthday", sa.Date()))
    op.add_column("customer_features", sa.Column("join_date", sa.Date()))
    op.add_column("customer_profiles", sa.Column("scored_at", sa.DateTime(timezone=True)))
    op.create_index("ix_customer_profiles_scored_at", "customer_profiles", ["scored_at"])
    op.drop_column("customer_features", "days_to_contract_end")
    op.drop_column("customer_features", "days_to_birthday")
    op.create_index("ix_customer_features_computed_at", "customer_features", ["computed_at"])
    op.create_index("ix_customer_tag_sets_updated_at", "customer_tag_sets", ["updated_at"])
    op.execute("CREATE INDEX ix_customer_tag_history_at_brin ON customer_tag_history USING brin (at)")
    op.add_column("engine_watermarks", sa.Column("run_date", sa.Date()))
    # the stored feature rows lack the new dates: the next night is a full one
    op.execute("DELETE FROM engine_watermarks WHERE name LIKE 'stage:%'")


def downgrade() -> None:
    op.drop_column("engine_watermarks", "run_date")
    op.execute("DROP INDEX IF EXISTS ix_customer_tag_history_at_brin")
    op.drop_index("ix_customer_tag_sets_updated_at", table_name="customer_tag_sets")
    op.drop_index("ix_customer_features_computed_at", table_name="customer_features")
    op.add_column("customer_features", sa.Column("days_to_birthday", sa.Integer()))
    op.add_column("customer_features", sa.Column("days_to_contract_end", sa.Integer()))
    op.execute(
        "UPDATE customer_features SET days_to_birthday = tenure_days_to_birthday(birthday, CURRENT_DATE), "
        "days_to_contract_end = CASE WHEN contract_end >= CURRENT_DATE THEN contract_end - CURRENT_DATE END"
    )
    op.drop_index("ix_customer_profiles_scored_at", table_name="customer_profiles")
    op.drop_column("customer_profiles", "scored_at")
    op.drop_column("customer_features", "join_date")
    op.drop_column("customer_features", "birthday")
    op.drop_column("customer_features", "contract_end")
    op.execute("DROP FUNCTION IF EXISTS tenure_days_to_birthday(date, date)")
    op.execute("DROP TRIGGER IF EXISTS trg_customers_updated_at ON customers")
    for table in STAMPED:
        op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_updated_at ON {table}")
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_updated_at_brin")
        op.drop_column(table, "updated_at")
    op.execute("DROP FUNCTION IF EXISTS tenure_stamp_updated_at()")
