"""Each manager assignment carries its customer's revenue at risk, kept by triggers.

Revision ID: 0009a
Revises: 0008i

The manager list sorts a manager's few hundred customers by priority = revenue at risk (churn
score, or the risk level's stand-in, × ARPU) + 5000 fen per overdue open task. Computing the first
term read `customer_profiles` (a wide table) by primary key for every customer of the scope on
every list request: at 1M subscribers that was most of the list's database time. The term now
lives on `manager_assignments.revenue_at_risk_fen`, so the unfiltered list reads the profile for
the rows of its page only.

It cannot go stale, whoever writes: `tenure_revenue_at_risk_fen()` is the one definition of the
term (the list uses it for a branch head's scope, which has no assignment rows); a row trigger
sets it when an assignment is inserted (or moved to another customer), and statement triggers
with transition tables on `customer_profiles` (insert, update, delete: the engine's upserts, the
churn scoring, the ORM) refresh the assignments of the rows a statement wrote, in one set-based
UPDATE per statement, in the same transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009a"
down_revision = "0008i"
branch_labels = None
depends_on = None

REVENUE_AT_RISK = """
CREATE OR REPLACE FUNCTION tenure_revenue_at_risk_fen(churn_score double precision, risk_level text, arpu_fen bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CAST(round(coalesce(churn_score, CASE risk_level WHEN 'high' THEN CAST(0.6 AS float8)
                                                           WHEN 'medium' THEN CAST(0.3 AS float8)
                                                           WHEN 'low' THEN CAST(0.1 AS float8)
                                                           ELSE CAST(0 AS float8) END)
                      * coalesce(arpu_fen, 0)) AS bigint)
$$
"""

ON_ASSIGNMENT = """
CREATE OR REPLACE FUNCTION tenure_assignment_revenue_at_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revenue_at_risk_fen := coalesce(
        (SELECT tenure_revenue_at_risk_fen(p.churn_score, p.risk_level, p.arpu_fen)
         FROM customer_profiles p WHERE p.customer_id = NEW.customer_id), 0);
    RETURN NEW;
END
$$
"""

ON_PROFILES_WRITTEN = """
CREATE OR REPLACE FUNCTION tenure_profiles_revenue_at_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE manager_assignments a
    SET revenue_at_risk_fen = tenure_revenue_at_risk_fen(w.churn_score, w.risk_level, w.arpu_fen)
    FROM written w
    WHERE a.customer_id = w.customer_id
      AND a.revenue_at_risk_fen <> tenure_revenue_at_risk_fen(w.churn_score, w.risk_level, w.arpu_fen);
    RETURN NULL;
END
$$
"""

ON_PROFILES_DELETED = """
CREATE OR REPLACE FUNCTION tenure_profiles_deleted_revenue_at_risk() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE manager_assignments a SET revenue_at_risk_fen = 0
    FROM deleted d
    WHERE a.customer_id = d.customer_id AND a.revenue_at_risk_fen <> 0;
    RETURN NULL;
END
$$
"""


def upgrade() -> None:
    op.add_column(
        "manager_assignments", sa.Column("revenue_at_risk_fen", sa.BigInteger(), nullable=False, server_default="0")
    )
    op.execute(REVENUE_AT_RISK)
    op.execute(ON_ASSIGNMENT)
    op.execute(ON_PROFILES_WRITTEN)
    op.execute(ON_PROFILES_DELETED)
    op.execute(
        "UPDATE manager_assignments a "
        "SET revenue_at_risk_fen = tenure_revenue_at_risk_fen(p.churn_score, p.risk_level, p.arpu_fen) "
        "FROM customer_profiles p WHERE p.customer_id = a.customer_id"
    )
    op.execute(
        "CREATE TRIGGER trg_manager_assignments_revenue_at_risk BEFORE INSERT OR UPDATE OF customer_id "
        "ON manager_assignments FOR EACH ROW EXECUTE FUNCTION tenure_assignment_revenue_at_risk()"
    )
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER trg_customer_profiles_{event.lower()}_revenue_at_risk AFTER {event} "
            "ON customer_profiles REFERENCING NEW TABLE AS written "
            "FOR EACH STATEMENT EXECUTE FUNCTION tenure_profiles_revenue_at_risk()"
        )
    op.execute(
        "CREATE TRIGGER trg_customer_profiles_delete_revenue_at_risk AFTER DELETE "
        "ON customer_profiles REFERENCING OLD TABLE AS deleted "
        "FOR EACH STATEMENT EXECUTE FUNCTION tenure_profiles_deleted_revenue_at_risk()"
    )


def downgrade() -> None:
    for event in ("insert", "update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS trg_customer_profiles_{event}_revenue_at_risk ON customer_profiles")
    op.execute("DROP TRIGGER IF EXISTS trg_manager_assignments_revenue_at_risk ON manager_assignments")
    op.execute("DROP FUNCTION IF EXISTS tenure_profiles_deleted_revenue_at_risk()")
    op.execute("DROP FUNCTION IF EXISTS tenure_profiles_revenue_at_risk()")
    op.execute("DROP FUNCTION IF EXISTS tenure_assignment_revenue_at_risk()")
    op.execute("DROP FUNCTION IF EXISTS tenure_revenue_at_risk_fen(double precision, text, bigint)")
    op.drop_column("manager_assignments", "revenue_at_risk_fen")
