"""Organisation and staff: market department → product support centre → county branch."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import BigPK, IntPK


class OrgKind(StrEnum):
    MARKET_DEPT = "market_dept"
    SUPPORT_CENTRE = "support_centre"
    BRANCH = "branch"


class StaffRole(StrEnum):
    ADMIN = "admin"
    ANALYST = "analyst"
    STRATEGIST = "strategist"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    BRANCH_HEAD = "branch_head"
    ACCOUNT_MANAGER = "account_manager"
    HALL_STAFF = "hall_staff"


class OrgUnit(CreatedAt, Base):
    __tablename__ = "org_units"
    id: Mapped[IntPK]
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)


class StaffUser(CreatedAt, Base):
    """Back-office users, account managers, branch heads and hall staff (password login)."""

    __tablename__ = "staff_users"
    id: Mapped[IntPK]
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(30), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    work_phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    capacity: Mapped[int] = mapped_column(default=400, server_default="400")
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    """Bumped whenever the account's sessions must end (deactivation, role or branch change,
    new password); access tokens carry the version they were issued with."""


class ManagerAssignment(CreatedAt, Base):
    """Which account manager owns a customer now (one row per assigned customer)."""

    __tablename__ = "manager_assignments"
    __table_args__ = (Index("ix_manager_assignments_manager_id_customer_id", "manager_id", "customer_id"),)
    customer_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    manager_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="engine", server_default="engine")
    # Set by triggers from the customer's profile (migration 0009a), whoever writes either table:
    # the manager list sorts a scope by it without reading every profile of the scope.
    revenue_at_risk_fen: Mapped[int] = mapped_column(BigInteger, server_default="0")


class AssignmentHistory(CreatedAt, Base):
    __tablename__ = "assignment_history"
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), index=True)
    from_manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    to_manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(String(200))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
