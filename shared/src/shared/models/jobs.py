"""Durable jobs: the editable periodic schedules and what the console shows per queue job.

The queue itself (jobs, workers, events) is procrastinate's own schema (migration 0006b); these
two tables are ours and point at its job ids.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base
from shared.models._types import JSON


class JobSchedule(Base):
    """One periodic job: a cron expression in the operator's time zone (Asia/Shanghai)."""

    __tablename__ = "job_schedules"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    task: Mapped[str] = mapped_column(String(128))
    cron: Mapped[str] = mapped_column(String(100))
    args: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    description: Mapped[str | None] = mapped_column(Text)
    last_fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_job_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_by: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))


class JobProgress(Base):
    """Progress, detail and last error of one queue job (procrastinate_jobs.id), kept by the worker."""

    __tablename__ = "job_progress"
    job_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    task: Mapped[str] = mapped_column(String(128))
    progress: Mapped[float] = mapped_column(Float, default=0, server_default="0")
    detail: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
