"""Programme settings: back-office editable rules, one JSON object per key (read and written only
through `shared.programme.settings`)."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON


class ProgrammeSetting(CreatedAt, Base):
    """Back-office editable rules: check-in rewards, make-up rules, points expiry, accrual rates."""

    __tablename__ = "programme_settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
