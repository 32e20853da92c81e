"""My customers: the scoped, filtered, priority-sorted list with keyset pagination.

Index use (no sequential scan of a customer-sized table): an account manager's rows come from
`manager_assignments(manager_id, customer_id)` (a few hundred, each with its revenue at risk),
joined by primary key to `customer_profiles` only when a profile filter needs the whole scope
(else for the page's rows); overdue tasks are one array-keyed scan of the open tasks'
`care_tasks(customer_id)` index; `customers` is read (by primary key) for the rows of the page
only, unless a filter on its columns needs the whole scope; last contact, a backward index scan
of `touches(customer_id, occurred_at)`, is read only for the rows of the page (and for the scope
only when filtering on days since contact); tags the `customer_tag_sets` primary key. A branch head's rows come from `customers(branch_id, id)`.
Sorting by priority therefore sorts at most the scope, never the table.

Priority = churn_score × ARPU (the monthly revenue at risk, in fen; without a model score the
risk level stands in: high 0.6, medium 0.3, low 0.1) + 5000 fen for every overdue open task, so
a high-value customer about to leave, or one the manager has let slide, comes first. The first
term is the SQL function `tenure_revenue_at_risk_fen` (migration 0009a); each manager assignment
carries its customer's value, kept by triggers, so a manager's unfiltered list ranks the scope
from `manager_assignments` and its overdue tasks and reads profiles for the page only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth import scoping
from shared.auth.principals import Principal
from shared.db import native
from shared.manager import cursor
from shared.masking import mask_name, mask_phone

OPEN_TASK = ("open", "in_progress")
OVERDUE_TASK_WEIGHT_FEN = 5000
SORTS = ("priority", "id")
FOUR_HIGH_KINDS = ("tariff", "payg_data", "silence", "arpu_mismatch")
RISK_FALLBACK = {"high": 0.6, "medium": 0.3, "low": 0.1}
"""Churn probability assumed from the risk level when the model has not scored the customer (as
`tenure_revenue_at_risk_fen` spells it; a test holds the two equal)."""


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
    "last4": "c.phone_last4 = :q",
    "last4_suffix": "c.phone_last4 LIKE :q",
    "phone_suffix": "c.phone LIKE :q",
    "name": "c.name ILIKE :q ESCAPE '\\'",
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

    @property
    def customers_first(self) -> bool:
        """Whether `customers` must be read for every row of the scope (it drives a branch head's
        scope; tier, birthday and search filter on it); otherwise only the page's rows read it."""
        return self.scope != "manager" or self.tiers or self.birthday or self.search is not None


def _filters(shape: _Shape, cid: str) -> list[str]:
    """WHERE conditions of the scope query; `cid` is the customer id column.

    In a manager's scope (a few hundred customers) the list values are hidden from the planner
    (`native.planner_opaque`): with them visible every tier, stage, risk or four-high filter was
    planned again on each request; the one generic plan is as fast. A branch head's scope keeps
    them visible (its plans depend on them, and it is not the hot path)."""

    def value(name: str, sql_type: str) -> str:
        return native.planner_opaque(name, sql_type) if shape.scope == "manager" else f":{name}"

    out: list[str] = []
    if shape.tiers:
        out.append(f"c.tier = ANY({value('tiers', 'text[]')})")
    if shape.stages:
        out.append(f"p.lifecycle_stage = ANY({value('stages', 'text[]')})")
    if shape.risks:
        out.append(f"p.risk_level = ANY({value('risks', 'text[]')})")
    if shape.four_high == "any":
        out.append("jsonb_array_length(p.four_high) > 0")
    elif shape.four_high:
        out.append(f"p.four_high @> {value('four_high', 'jsonb')}")
    if shape.tags:  # every listed tag; an unknown code matches no one
        out.append(
            f"""EXISTS (SELECT 1 FROM customer_tag_sets ts WHERE ts.customer_id = {cid}
              AND ts.tag_ids @> (SELECT array_agg(d.id) FROM tag_definitions d WHERE d.code = ANY(:tags))
              AND (SELECT count(*) FROM tag_definitions d WHERE d.code = ANY(:tags)) = :n_tags)"""
        )
    if shape.quiet:
        out.append(f"NOT EXISTS (SELECT 1 FROM touches t WHERE t.customer_id = {cid} AND t.occurred_at >= :since)")
    if shape.birthday:
        out.append("extract(month FROM c.birthday) = CAST(:month AS integer)")
    if shape.search:
        out.append(_SEARCH[shape.search])
    return out


_CUSTOMER_COLUMNS = "c.name, c.phone, c.tier, c.birthday, c.do_not_disturb"
_PROFILE_COLUMNS = "p.lifecycle_stage, p.segment, p.risk_level, p.churn_score, p.arpu_fen, p.four_high"
REVENUE_AT_RISK_SQL = "tenure_revenue_at_risk_fen(p.churn_score, p.risk_level, p.arpu_fen)"
"""The SQL function (migration 0009a) that is the one definition of the revenue at risk."""
_OPEN = ", ".join(f"'{s}'" for s in OPEN_TASK)


@lru_cache(maxsize=512)
def _statement(shape: _Shape) -> tuple[str, list[str]]:
    """The page query for one shape (asyncpg SQL and its parameter names), built once.

    Priority is computed for every row of the scope (that is the sort): the revenue at risk — for a
    manager the assignment row's copy (kept by triggers, migration 0009a), for a branch head's
    scope the function over the profile — plus the overdue open tasks (statuses inline so the
    partial index ix_care_tasks_open_customer_due matches a generic plan too): for a manager one
    array-keyed scan of that index over their customer ids, for a branch a probe per customer.
    `customers` and `customer_profiles` are read for the whole scope only when a filter (or a
    branch head's scope) needs them, else for the page's rows only, and the last contact (a backward index probe of
    touches) for the page's rows only.
    """
    first = shape.customers_first
    profile_first = shape.scope != "manager" or shape.stages or shape.risks or shape.four_high is not None
    cid = "c.id" if first else "a.customer_id"
    if shape.scope == "manager":
        scope = "JOIN manager_assignments a ON a.customer_id = c.id AND a.manager_id = :scope_manager_id"
        source = f"customers c {scope}" if first else "manager_assignments a"
        where = [] if first else ["a.manager_id = :scope_manager_id"]
        at_risk = "a.revenue_at_risk_fen"
    else:
        source = "customers c"
        where = ["c.branch_id = :scope_branch_id"] if shape.scope == "branch" else ["false"]
        at_risk = REVENUE_AT_RISK_SQL
    where += _filters(shape, cid)
    open_overdue = f"t.status IN ({_OPEN}) AND t.due_on < :today"
    if shape.scope == "manager":
        # one index scan over the manager's few hundred customer ids (array keys), grouped and
        # hash-joined: a third cheaper than a probe-and-aggregate per row of the scope
        mine_ids = "ARRAY(SELECT customer_id FROM manager_assignments WHERE manager_id = :scope_manager_id)"
        overdue = (
            f"LEFT JOIN (SELECT t.customer_id, count(*) AS n FROM care_tasks t WHERE t.customer_id = ANY({mine_ids}) "
            f"AND {open_overdue} GROUP BY t.customer_id) ov ON ov.customer_id = {cid}"
        )
        n_overdue = "coalesce(ov.n, 0)"
    else:
        overdue = f"JOIN LATERAL (SELECT count(*) AS n FROM care_tasks t WHERE t.customer_id = {cid} AND {open_overdue}) ov ON true"
        n_overdue = "ov.n"
    priority = f"{at_risk} + {OVERDUE_TASK_WEIGHT_FEN} * {n_overdue}"
    profile = f"LEFT JOIN customer_profiles p ON p.customer_id = {cid} " if profile_first else ""
    mine = (
        f"SELECT {cid} AS id, {_CUSTOMER_COLUMNS + ', ' if first else ''}"
        f"{_PROFILE_COLUMNS + ', ' if profile_first else ''}{n_overdue} AS overdue_tasks, {priority} AS priority "
        f"FROM {source} {profile}{overdue}" + (" WHERE " + " AND ".join(where) if where else "")
    )
    if shape.sort == "priority":
        keyset = (
            "WHERE (mine.priority < :cur_p OR (mine.priority = :cur_p AND mine.id > :cur_i)) " if shape.after else ""
        )
        order = "priority DESC, id"
    else:
        keyset = "WHERE mine.id > :cur_i " if shape.after else ""
        order = "id"
    page = f"SELECT * FROM ({mine}) mine {keyset}ORDER BY {order} LIMIT {shape.limit + 1}"
    columns = ["page.*"] + ([] if profile_first else [_PROFILE_COLUMNS]) + ([] if first else [_CUSTOMER_COLUMNS])
    joins = ("" if profile_first else "LEFT JOIN customer_profiles p ON p.customer_id = page.id ") + (
        "" if first else "JOIN customers c ON c.id = page.id "
    )
    last_contact = "SELECT max(occurred_at) AS at FROM touches WHERE customer_id = page.id"
    sql = (
        f"SELECT {', '.join(columns)}, lc.at AS last_contact_at FROM ({page}) page {joins}"
        f"JOIN LATERAL ({last_contact}) lc ON true ORDER BY {'page.priority DESC, page.id' if shape.sort == 'priority' else 'page.id'}"
    )
    return native.to_asyncpg(sql)


def list_query(
    principal: Principal,
    *,
    filters: CustomerFilters,
    sort: str = "priority",
    after: str | None = None,
    limit: int = 50,
    today: date,
) -> tuple[str, list[Any]]:
    """The SQL and arguments of one page (also what the load bench explains)."""
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
        params["four_high"] = json.dumps([f.four_high])
    if shape.tags:
        params.update(tags=list(f.tags), n_tags=len(set(f.tags)))
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
    sql, names = _statement(shape)
    return sql, native.bind(names, params)


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
    """One page of the principal's customers and the cursor of the next page (None at the end).

    One statement on the pooled asyncpg connection (`shared.db.native`): at a few hundred list
    requests a second SQLAlchemy's statement and result layers cost more CPU than the query."""
    today = today or clock.today()
    sql, args = list_query(principal, filters=filters, sort=sort, after=after, limit=limit, today=today)
    async with native.read_connection(session) as conn:
        rows = await conn.fetch(sql, *args)
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
