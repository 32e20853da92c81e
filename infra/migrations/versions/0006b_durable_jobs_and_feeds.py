"""Durable jobs (procrastinate's queue schema, schedules, job progress) and the operator's data feeds.

Revision ID: 0006b
Revises: 0005a

- The queue: procrastinate 3.10's own schema, applied from a frozen copy
  (`infra/migrations/sql/procrastinate-3.10.0.sql`), never at run time. A procrastinate upgrade
  that changes its schema comes with a new revision applying its migration scripts.
- `job_schedules`: the periodic jobs (cron in Asia/Shanghai time), editable in the back office;
  seeded with the nightly engine (02:00), scheduled campaigns (every minute), points expiry,
  monthly accrual, statements and rebate postings (1st of the month), webhook delivery.
- `job_progress`: what the console shows per queue job (progress, detail, last error);
  `engine_runs.job_id` ties a scheduled run's row to its queue job, so a retry resumes that row.
- Feeds: `import_jobs` gains the data-quality report and its source (file or API);
  `competitor_calls` gains the source system's record id (unique); new tables `topups` and
  `plan_changes`; subscriptions and touches take the record id in their existing idempotency keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006b"
down_revision = "0006a"
branch_labels = None
depends_on = None

QUEUE_SCHEMA = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0.sql"

SCHEDULES = [
    # name, task, cron (Asia/Shanghai), args, description
    ("engine.nightly", "engine.run", "0 2 * * *", {}, "nightly retention engine run"),
    ("campaigns.launch_due", "campaigns.launch_due", "* * * * *", {}, "launch scheduled campaigns whose day has come"),
    ("points.expire", "points.expire", "30 0 * * *", {}, "expire points past their date"),
    ("points.accrue", "points.accrue", "0 3 1 * *", {"month": "previous"}, "monthly points accrual for last month"),
    ("webhooks.deliver", "webhooks.deliver", "* * * * *", {}, "send due merchant webhooks (retries with backoff)"),
    (
        "statements.settlements",
        "statements.settlements",
        "0 5 1 * *",
        {"month": "previous"},
        "merchant settlement statements for last month",
    ),
    (
        "statements.incentives",
        "statements.incentives",
        "0 6 1 * *",
        {"month": "previous"},
        "account-manager incentive statements for last month",
    ),
    (
        "rebates.monthly",
        "rebates.post",
        "0 4 1 * *",
        {"month": "previous"},
        "deposit-and-rebate monthly postings (nothing to post until contracts exist)",
    ),
]


def upgrade() -> None:
    # the raw DB-API cursor, without parameters: the script's '%' and ':' are SQL, not placeholders
    op.get_bind().connection.dbapi_connection.cursor().execute(QUEUE_SCHEMA.read_text())

    op.create_table(
        "job_schedules",
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("cron", sa.String(100), nullable=False),
        sa.Column("args", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default="true"),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_job_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    table = sa.table(
        "job_schedules",
        sa.column("name"),
        sa.column("task"),
        sa.column("cron"),
        sa.column("args", postgresql.JSONB()),
        sa.column("description"),
    )
    op.bulk_insert(
        table, [{"name": n, "task": t, "cron": c, "args": a, "description": d} for n, t, c, a, d in SCHEDULES]
    )

    op.create_table(
        "job_progress",
        sa.Column("job_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("task", sa.String(128), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
        sa.Column("detail", postgresql.JSONB(), nullable=False, server_default="{}"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )

    op.add_column("import_jobs", sa.Column("source", sa.String(10), nullable=False, server_default="file"))
    op.add_column("import_jobs", sa.Column("job_id", sa.BigInteger(), nullable=True))
    op.add_column(
        "import_jobs", sa.Column("quality", postgresql.JSONB(), nullable=False, server_default=json.dumps({}))
    )

    op.add_column("engine_runs", sa.Column("job_id", sa.BigInteger(), nullable=True))
    op.add_column("competitor_calls", sa.Column("source_ref", sa.String(80), nullable=True))
    op.create_index(
        "uq_competitor_calls_source_ref",
        "competitor_calls",
        ["source_ref"],
        unique=True,
        postgresql_where=sa.text("source_ref IS NOT NULL"),
    )

    op.create_table(
        "topups",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("source_ref", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False, server_default="topup"),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("source_ref", name="uq_topups_source_ref"),
    )
    op.create_index("ix_topups_customer_id_paid_at", "topups", ["customer_id", "paid_at"])

    op.create_table(
        "plan_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("source_ref", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_plan_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=True),
        sa.Column("to_plan_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=False),
        sa.Column("channel", sa.String(20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("source_ref", name="uq_plan_changes_source_ref"),
    )
    op.create_index("ix_plan_changes_customer_id_changed_at", "plan_changes", ["customer_id", "changed_at"])


def downgrade() -> None:
    op.drop_table("plan_changes")
    op.drop_table("topups")
    op.drop_index("uq_competitor_calls_source_ref", table_name="competitor_calls")
    op.drop_column("competitor_calls", "source_ref")
    op.drop_column("engine_runs", "job_id")
    op.drop_column("import_jobs", "quality")
    op.drop_column("import_jobs", "job_id")
    op.drop_column("import_jobs", "source")
    op.drop_table("job_progress")
    op.drop_table("job_schedules")
    op.execute(
        """
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs,
            procrastinate_workers CASCADE;
        DO $$
        DECLARE f regprocedure;
        BEGIN
            FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                     WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%'
            LOOP
                EXECUTE 'DROP FUNCTION ' || f || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
        """
    )
