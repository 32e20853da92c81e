"""Tags: the declarative catalogue and each customer's current set and history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from shared.db.base import Base, CreatedAt
from shared.models._types import JSON, BigPK, IntPK


class TagDefinition(CreatedAt, Base):
    """A declarative tag: `rule` is a JSON condition tree compiled to SQL by a whitelist compiler."""

    __tablename__ = "tag_definitions"
    id: Mapped[IntPK]
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    family: Mapped[str] = mapped_column(String(20), index=True)  # basic/stability/preference/channel
    description: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[dict] = mapped_column(JSON)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(default=1)
    # customers holding the tag after the last nightly run (kept here: counting live would scan
    # every customer's tag set on each back-office page)
    customers: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CustomerTagSet(Base):
    """A customer's current tags: one row per customer holding the sorted tag ids.

    One row per customer, not per (customer, tag): the nightly run re-derives ~30 of 191 tags for
    each of millions of customers, and a million short rows cost a fraction of thirty million
    index entries and foreign-key checks. No request asks an index for "everyone with tag X":
    campaigns and strategy matching scan in bulk, the manager app joins by customer. Ids of
    deleted definitions fall out at the next run (readers join tag_definitions).
    """

    __tablename__ = "customer_tag_sets"
    customer_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customers.id"), primary_key=True)
    tag_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=text("'{}'"))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))  # first tagged
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"), index=True)


class CustomerTagHistory(Base):
    __tablename__ = "customer_tag_history"
    __table_args__ = (Index("ix_customer_tag_history_at_brin", "at", postgresql_using="brin"),)
    id: Mapped[BigPK]
    customer_id: Mapped[int] = mapped_column(BigInteger, index=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tag_definitions.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(8))  # gained / lost
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("engine_runs.id"))
