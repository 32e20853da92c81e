"""Touch outcomes: a CHECK constraint holds `touches.outcome` to the vocabulary of
shared.touches.outcomes (a report can count only words it knows); the daily purge of finished
jobs (schedule `jobs.purge`).

Revision ID: 0007d
Revises: 0006d

The vocabulary is copied here (a migration must not change when the code does). Older synonyms
still in the table are mapped first (`not_reached` → `no_answer`, `accepted` → `accepted_offer`);
a row with any other word stops the upgrade with the words found, rather than rewrite data
nobody can explain.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007d"
down_revision = "0006d"
branch_labels = None
depends_on = None

OUTCOMES = (
    "queued",
    "sending",
    "failed",
    "cancelled",
    "sent",
    "delivered",
    "reached",
    "interested",
    "no_answer",
    "wrong_number",
    "complaint",
    "refused",
    "dismissed",
    "unsubscribed",
    "handed_to_manager",
    "accepted_offer",
    "ordered",
)
CONDITION = "outcome IN (" + ", ".join(f"'{o}'" for o in OUTCOMES) + ")"


def upgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.text("UPDATE touches SET outcome = 'no_answer' WHERE outcome = 'not_reached'"))
    bind.execute(sa.text("UPDATE touches SET outcome = 'accepted_offer' WHERE outcome = 'accepted'"))
    unknown = bind.execute(sa.text(f"SELECT DISTINCT outcome FROM touches WHERE NOT ({CONDITION}) LIMIT 20")).scalars()
    words = sorted(unknown)
    if words:
        raise RuntimeError(f"touches.outcome holds words outside the vocabulary: {words}; map them first")
    op.create_check_constraint(op.f("ck_touches_outcome_vocabulary"), "touches", CONDITION)
    bind.execute(
        sa.text(
            "INSERT INTO job_schedules (name, task, cron, args, description) VALUES ('jobs.purge', 'jobs.purge', "
            "'30 4 * * *', '{}', 'delete finished jobs older than the jobs_keep_days setting') "
            "ON CONFLICT (name) DO NOTHING"
        )
    )


def downgrade() -> None:
    op.get_bind().execute(sa.text("DELETE FROM job_schedules WHERE name = 'jobs.purge'"))
    op.drop_constraint(op.f("ck_touches_outcome_vocabulary"), "touches", type_="check")
