"""Auth state (one-time codes, refresh-token families, rate-limit buckets), audit log, imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, PrimaryKeyConstraint, String, Text, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK


class OtpCode(CreatedAt, Base):
    __tablename__ = "otp_codes"
    id: Mapped[BigPK]
    phone_digest: Mapped[str] = mapped_column(String(16), index=True)
    code_hash: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(CreatedAt, Base):
    """Rotating refresh tokens; reuse of a rotated token revokes the whole family."""

    __tablename__ = "refresh_tokens"
    jti: Mapped[str] = mapped_column(String(40), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(40), index=True)
    subject: Mapped[str] = mapped_column(String(60))
    audience: Mapped[str] = mapped_column(String(20))
    claims: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RateLimitBucket(Base):
    """Bucket counters for sliding-window limits (shared/auth/ratelimit.py), in Postgres so
    limits hold across every worker process."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = (PrimaryKeyConstraint("bucket", "window_start"),)
    bucket: Mapped[str] = mapped_column(String(120))
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(Base):
    """Append-only (a trigger refuses UPDATE and DELETE): who did what, when, from where."""

    __tablename__ = "audit_log"
    id: Mapped[BigPK]
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"), index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    role: Mapped[str] = mapped_column(String(30))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_kind: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(INET)


class ImportJob(CreatedAt, Base):
    __tablename__ = "import_jobs"
    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    rows_total: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_ok: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_bad: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_changed: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    """Rows inserted or actually updated; 0 when a file is imported again unchanged."""
    errors: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source: Mapped[str] = mapped_column(String(10), default="file", server_default="file")
    """file (CSV upload) or api (a POST /v1/feeds batch)"""
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    """the queue job that loads it (procrastinate_jobs.id), if it runs on the worker"""
    quality: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    """data-quality report: rows, bad rows by reason, duplicates, late-arriving months"""
