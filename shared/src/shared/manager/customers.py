"""My customers: the scoped, filtered, priority-sorted list with keyset pagination.

Index use (no sequential scan of a customer-sized table): an account manager's rows come from
`manager_assignments(manager_id, customer_id)` (a few hundred), each joined by primary key to
`customers` and `customer_profiles`; overdue tasks are an index scan of `care_tasks(customer_id)`;
last contact, a backward index scan of `touches(customer_id, occurred_at)`, is read only for the
rows of the page (and for the scope only when filtering on days since contact);
tags the `customer_tag_sets` primary key. A branch head's rows come from `customers(branch_id, id)`.
Sorting by priority therefore sorts at most the scope, never the table.

Priority = churn_score × ARPU (the monthly revenue at risk, in fen; without a model score the
risk level stands in: high 0.6, medium 0.3, low 0.1) + 5000 fen for every overdue open task, so
a high-value customer about to leave, or one the manager has let slide, comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Date,
    and_,
    bindparam,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth import scoping
from shared.auth.principals import Principal
from shared.manager import cursor
from shared.masking import mask_name, mask_phone
from shared.models import CareTask, Customer, CustomerProfile, CustomerTagSet, TagDefinition, Touch

OPEN_TASK = ("open", "in_progress")
OVERDUE_TASK_WEIGHT_FEN = 5000
SORTS = ("priority", "id")
FOUR_HIGH_KINDS = ("tariff", "payg_data", "silence", "arpu_mismatch")
RISK_FALLBACK = {"high": 0.6, "medium": 0.3, "low": 0.1}
"""Churn probability assumed from the risk level when the model has not scored the customer."""


@dataclass(frozen=True, slots=True)
class CustomerFilters:
    tiers: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    risk_levels: list[str] = field(default_factory=list)
    four_high: str | None = None  # "any" or one kind
    tags: list[str] = field(default_factory=list)  # every code must be held
    min_days_since_contact: int | None = None
    birthday_this_month: bool = False
    q: str | None = None  # name fragment, or trailing phone digits


def _search_kind(q: str) -> tuple[str, str]:
    """(kind, bound value) of a search: last 4 phone digits, a phone suffix, or a name fragment."""
    q = q.strip()
    if q.isdigit():
        if len(q) == 4:
            return "last4", q
        if len(q) < 4:
            return "last4_suffix", f"%{q}"
        return "phone_suffix", f"%{q}"
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "name", f"%{escaped}%"


_SEARCH = {
    "last4": lambda: Customer.phone_last4 == bindparam("q"),
    "last4_suffix": lambda: Customer.phone_last4.like(bindparam("q")),
    "phone_suffix": lambda: Customer.phone.like(bindparam("q")),
    "name": lambda: Customer.name.ilike(bindparam("q"), escape="\\"),
}


@dataclass(frozen=True, slots=True)
class _Shape:
    """Which clauses a list statement has; the values are bound at execution."""

    scope: str
    sort: str
    after: bool
    limit: int
    tiers: bool
    stages: bool
    risks: bool
    four_high: str | None  # None, "any" or "kind"
    tags: bool
    quiet: bool
    birthday: bool
    search: str | None


def _filter_clauses(shape: _Shape) -> list[Any]:
    out: list[Any] = []
    if shape.tiers:
        out.append(Customer.tier.in_(bindparam("tiers", expanding=True)))
    if shape.stages:
        out.append(CustomerProfile.lifecycle_stage.in_(bindparam("stages", expanding=True)))
    if shape.risks:
        out.append(CustomerProfile.risk_level.in_(bindparam("risks", expanding=True)))
    if shape.four_high == "any":
        out.append(func.jsonb_array_length(CustomerProfile.four_high) > 0)
    elif shape.four_high:
        out.append(CustomerProfile.four_high.contains(bindparam("four_high", type_=CustomerProfile.four_high.type)))
    if shape.tags:  # every listed tag; an unknown code matches no one
        codes: BindParameter[str] = bindparam("tags", expanding=True)
        wanted = select(func.array_agg(TagDefinition.id)).where(TagDefinition.code.in_(codes)).scalar_subquery()
        known = select(func.count()).where(TagDefinition.code.in_(bindparam("tags_again", expanding=True)))
        out.append(
            exists()
            .where(CustomerTagSet.customer_id == Customer.id, CustomerTagSet.tag_ids.contains(wanted))
            .where(known.scalar_subquery() == bindparam("n_tags"))
        )
    if shape.quiet:
        out.append(~exists().where(Touch.customer_id == Customer.id, Touch.occurred_at >= bindparam("since")))
    if shape.birthday:
        out.append(extract("month", Customer.birthday) == bindparam("month"))
    if shape.search:
        out.append(_SEARCH[shape.search]())
    return out


@lru_cache(maxsize=512)
def _statement(shape: _Shape) -> Any:
    """The page query for one shape, built once: building a statement of this size costs more
    Python than the database spends running it."""
    overdue = (
        select(func.count().label("n"))
        .select_from(CareTask)
        # statuses inline (not bound): the planner then matches the partial index
        # ix_care_tasks_open_customer_due in a generic plan too
        .where(
            CareTask.customer_id == Customer.id,
            CareTask.status.in_([literal_column(f"'{s}'") for s in OPEN_TASK]),
            CareTask.due_on < bindparam("today", type_=Date),
        )
        .lateral("ov")
    )
    risk = func.coalesce(
        CustomerProfile.churn_score,
        case(RISK_FALLBACK, value=CustomerProfile.risk_level, else_=0.0),
    )
    priority = cast(
        func.round(risk * func.coalesce(CustomerProfile.arpu_fen, 0) + literal(OVERDUE_TASK_WEIGHT_FEN) * overdue.c.n),
        BigInteger,
    )
    base = (
        select(
            Customer.id,
            Customer.name,
            Customer.phone,
            Customer.tier,
            Customer.birthday,
            Customer.do_not_disturb,
            CustomerProfile.lifecycle_stage,
            CustomerProfile.segment,
            CustomerProfile.risk_level,
            CustomerProfile.churn_score,
            CustomerProfile.arpu_fen,
            CustomerProfile.four_high,
            overdue.c.n.label("overdue_tasks"),
            priority.label("priority"),
        )
        .select_from(Customer)
        .outerjoin(CustomerProfile, CustomerProfile.customer_id == Customer.id)
    )
    base = scoping.scope_customers_bound(base, shape.scope).join(overdue, true()).where(*_filter_clauses(shape))
    inner = base.subquery("mine")
    stmt = select(inner)
    if shape.sort == "priority":
        if shape.after:
            p, i = bindparam("cur_p", type_=BigInteger), bindparam("cur_i", type_=BigInteger)
            stmt = stmt.where(or_(inner.c.priority < p, and_(inner.c.priority == p, inner.c.id > i)))
        order = [inner.c.priority.desc(), inner.c.id]
    else:
        if shape.after:
            stmt = stmt.where(inner.c.id > bindparam("cur_i", type_=BigInteger))
        order = [inner.c.id]
    page = stmt.order_by(*order).limit(shape.limit + 1).subquery("page")
    # last contact only for the rows of the page (a backward index probe each), not the whole scope
    last_contact = select(func.max(Touch.occurred_at).label("at")).where(Touch.customer_id == page.c.id).lateral("lc")
    ordered = [page.c.priority.desc(), page.c.id] if shape.sort == "priority" else [page.c.id]
    return select(page, last_contact.c.at.label("last_contact_at")).join(last_contact, true()).order_by(*ordered)


async def list_customers(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: CustomerFilters,
    sort: str = "priority",
    after: str | None = None,
    limit: int = 50,
    today: date | None = None,
) -> dict[str, Any]:
    """One page of the principal's customers and the cursor of the next page (None at the end)."""
    today = today or clock.today()
    now = datetime.now(clock.TZ)
    f = filters
    search, q = _search_kind(f.q) if f.q else (None, None)
    position = cursor.decode(
        after, f"customers:{sort}", (cursor.INT, cursor.INT) if sort == "priority" else (cursor.INT,)
    )
    shape = _Shape(
        scope=scoping.scope_kind(principal),
        sort=sort,
        after=position is not None,
        limit=limit,
        tiers=bool(f.tiers),
        stages=bool(f.stages),
        risks=bool(f.risk_levels),
        four_high=None if not f.four_high else ("any" if f.four_high == "any" else "kind"),
        tags=bool(f.tags),
        quiet=f.min_days_since_contact is not None,
        birthday=f.birthday_this_month,
        search=search,
    )
    params: dict[str, Any] = {**scoping.scope_params(principal), "today": today}
    if shape.tiers:
        params["tiers"] = list(f.tiers)
    if shape.stages:
        params["stages"] = list(f.stages)
    if shape.risks:
        params["risks"] = list(f.risk_levels)
    if shape.four_high == "kind":
        params["four_high"] = [f.four_high]
    if shape.tags:
        params.update(tags=list(f.tags), tags_again=list(f.tags), n_tags=len(set(f.tags)))
    if shape.quiet:
        params["since"] = now - timedelta(days=int(f.min_days_since_contact or 0))
    if shape.birthday:
        params["month"] = today.month
    if search:
        params["q"] = q
    if position is not None:
        if sort == "priority":
            params.update(cur_p=position[0], cur_i=position[1])
        else:
            params["cur_i"] = position[0]
    rows = (await session.execute(_statement(shape), params)).mappings().all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [_item(r, today) for r in rows]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        key = [int(last["priority"]), last["id"]] if sort == "priority" else [last["id"]]
        next_cursor = cursor.encode(f"customers:{sort}", key)
    return {"items": items, "next_cursor": next_cursor}


def _item(r: Any, today: date) -> dict[str, Any]:
    last = r["last_contact_at"]
    return {
        "id": r["id"],
        "name": mask_name(r["name"]),
        "phone": mask_phone(r["phone"]),
        "tier": r["tier"],
        "lifecycle_stage": r["lifecycle_stage"],
        "segment": r["segment"],
        "risk_level": r["risk_level"],
        "churn_score": r["churn_score"],
        "arpu_fen": r["arpu_fen"],
        "four_high": list(r["four_high"] or []),
        "do_not_disturb": r["do_not_disturb"],
        "birthday_this_month": bool(r["birthday"] and r["birthday"].month == today.month),
        "last_contact_at": last,
        "days_since_contact": (today - last.astimezone(clock.TZ).date()).days if last else None,
        "overdue_tasks": r["overdue_tasks"],
        "priority": int(r["priority"]),
    }
