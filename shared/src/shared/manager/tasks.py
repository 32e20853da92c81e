"""Care tasks: the day's list, start, complete (with the touch and any offer), follow-ups and
reassignment requests.

Invariants:
- a task is visible and actionable only through `scoping.task_visible` (else 404);
- a task is completed at most once: the completion claims the row with
  `UPDATE … WHERE status IN ('open','in_progress')` under the row lock, and
  `manager_contacts.task_id` is UNIQUE; the touch, the order and the follow-up carry keys derived
  from the task id, so the same completion can never be written twice;
- completion, touch, order and follow-up are in the caller's ONE transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import func, literal_column, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth import scoping
from shared.auth.principals import Principal, is_account_manager
from shared.db import native
from shared.engine.fourhigh import mark_cared
from shared.errors import Conflict, NotFound, Unprocessable
from shared.manager import cursor
from shared.manager.contacts import ContactInput, record_contact
from shared.manager.greetings import mark_greeting_from_task
from shared.masking import mask_name, mask_phone
from shared.models import (
    AssignmentHistory,
    CareTask,
    Customer,
    ManagerAssignment,
    ReassignmentRequest,
    StaffUser,
)

OPEN = ("open", "in_progress")
VIEWS = ("today", "upcoming", "overdue", "done")
UPCOMING_DAYS = 30
CARED_OUTCOMES = frozenset({"reached", "accepted_offer", "refused"})


@dataclass(frozen=True, slots=True)
class FollowUp:
    due_on: date
    reason: str


TASK_COLUMNS = (
    "id",
    "customer_id",
    "manager_id",
    "kind",
    "due_on",
    "reason",
    "product_id",
    "script",
    "campaign_id",
    "status",
    "outcome",
    "notes",
    "completed_at",
    "updated_at",
)


def task_out(t: CareTask, customer: Customer | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": t.id,
        "customer_id": t.customer_id,
        "manager_id": t.manager_id,
        "kind": t.kind,
        "due_on": t.due_on,
        "reason": t.reason,
        "product_id": t.product_id,
        "script": t.script,
        "campaign_id": t.campaign_id,
        "status": t.status,
        "outcome": t.outcome,
        "notes": t.notes,
        "completed_at": t.completed_at,
        "updated_at": t.updated_at,
    }
    if customer is not None:
        out["customer"] = {
            "name": mask_name(customer.name),
            "phone": mask_phone(customer.phone),
            "tier": customer.tier,
            "do_not_disturb": customer.do_not_disturb,
        }
    return out


_VIEW = {  # `{today}`: the :today parameter, as `_list_statement` renders it for the scope and view
    "done": "t.status = 'done' AND t.due_on >= :since",
    "today": "t.status IN ('open', 'in_progress') AND t.due_on = {today}",
    "overdue": "t.status IN ('open', 'in_progress') AND t.due_on < {today}",
    "upcoming": "t.status IN ('open', 'in_progress') AND t.due_on > {today} AND t.due_on <= :until",
}


@lru_cache(maxsize=64)
def _list_statement(scope: str, view: str, after: bool, limit: int) -> tuple[str, list[str]]:
    """The page query of one scope kind and view (asyncpg SQL and parameter names), built once:
    for a manager it walks `care_tasks(manager_id, status, due_on)`; the still-assigned check is
    an index probe of `manager_assignments`."""
    visible = native.render(scoping.customer_visible_bound(scope, literal_column("t.customer_id")))
    if scope == "manager":  # scoping.task_visible: their task, of a customer still assigned to them
        visible = f"t.manager_id = :scope_manager_id AND {visible}"
    # A manager's overdue list with today's date visible: the planner expects almost nothing overdue
    # and planned the statement again on every request (0.3-0.7 ms for a 0.03 ms walk of the
    # index); the generic plan is as fast. A branch head's needs the date (20x slower without it).
    opaque = scope == "manager" and view == "overdue"
    condition = _VIEW[view].format(today=native.planner_opaque("today", "date") if opaque else ":today")
    keyset = " AND (t.due_on > :cur_d OR (t.due_on = :cur_d AND t.id > :cur_i))" if after else ""
    sql = (
        f"SELECT {', '.join('t.' + c for c in TASK_COLUMNS)}, c.name AS c_name, c.phone AS c_phone, "
        "c.tier AS c_tier, c.do_not_disturb AS c_dnd "
        "FROM care_tasks t JOIN customers c ON c.id = t.customer_id "
        f"WHERE {visible} AND {condition}{keyset} "
        f"ORDER BY t.due_on, t.id LIMIT {limit + 1}"
    )
    return native.to_asyncpg(sql)


def list_query(
    principal: Principal, *, view: str, after: str | None = None, limit: int = 50, today: date
) -> tuple[str, list[Any]]:
    """The SQL and arguments of one page of tasks (also what the load bench explains)."""
    position = cursor.decode(after, f"tasks:{view}", (cursor.DATE, cursor.INT))
    params: dict[str, Any] = {
        **scoping.scope_params(principal),
        "today": today,
        "since": today - timedelta(days=UPCOMING_DAYS),
        "until": today + timedelta(days=UPCOMING_DAYS),
    }
    if position is not None:
        params.update(cur_d=position[0], cur_i=position[1])
    shape = view if view in _VIEW else "upcoming"  # as before: any other view lists the coming days
    sql, names = _list_statement(scoping.scope_kind(principal), shape, position is not None, limit)
    return sql, native.bind(names, params)


async def list_tasks(
    session: AsyncSession,
    principal: Principal,
    *,
    view: str,
    after: str | None = None,
    limit: int = 50,
    today: date | None = None,
) -> dict[str, Any]:
    """Tasks by due date then id (keyset), in one statement on the pooled asyncpg connection
    (`shared.db.native`: the list is one of the manager app's three hot reads)."""
    today = today or clock.today()
    sql, args = list_query(principal, view=view, after=after, limit=limit, today=today)
    async with native.read_connection(session) as conn:
        rows = await conn.fetch(sql, *args)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = cursor.encode(f"tasks:{view}", [last["due_on"].isoformat(), last["id"]])
    items = [
        {
            **{name: r[name] for name in TASK_COLUMNS},
            "customer": {
                "name": mask_name(r["c_name"]),
                "phone": mask_phone(r["c_phone"]),
                "tier": r["c_tier"],
                "do_not_disturb": r["c_dnd"],
            },
        }
        for r in rows
    ]
    return {"items": items, "next_cursor": next_cursor}


async def get_visible_task(
    session: AsyncSession, principal: Principal, task_id: int, *, for_update: bool = False
) -> CareTask:
    stmt = select(CareTask).where(CareTask.id == task_id, scoping.task_visible(principal))
    if for_update:
        stmt = stmt.with_for_update(of=CareTask)
    task = await session.scalar(stmt)
    if task is None:
        raise NotFound("task not found", task_id=task_id)
    return task


async def start_task(session: AsyncSession, principal: Principal, task_id: int) -> CareTask:
    """open → in_progress; starting a started task is a no-op; a finished one is a 409."""
    task = await get_visible_task(session, principal, task_id, for_update=True)
    if task.status == "open":
        task.status = "in_progress"
        task.updated_at = func.now()
        await session.flush()
        await session.refresh(task)
    elif task.status != "in_progress":
        raise Conflict("task is already finished", task_id=task_id, status=task.status)
    return task


async def complete_task(
    session: AsyncSession,
    principal: Principal,
    task_id: int,
    *,
    contact: ContactInput,
    follow_up: FollowUp | None = None,
    reassignment_reason: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Complete a task: contact pressure → offer → touch → contact row → task → follow-up
    (→ a reassignment request for the branch head, if asked; an already pending one is kept).

    Raises NotFound (not visible), Conflict (already finished, or contact pressure with its
    reason), Unprocessable (bad outcome/product/consent combination), and whatever `place_order`
    raises (eligibility, insufficient balance) — any of which rolls the whole transaction back.
    """
    today = today or clock.today()
    task = await get_visible_task(session, principal, task_id, for_update=True)
    if task.status not in OPEN:
        raise Conflict("task is already finished", task_id=task_id, status=task.status)
    if follow_up is not None and follow_up.due_on <= today:
        raise Unprocessable("a follow-up must be due after today", due_on=follow_up.due_on)
    customer = await scoping.get_visible_customer(session, principal, task.customer_id)
    record = await record_contact(session, principal, customer=customer, data=contact, key=f"task:{task.id}", task=task)
    task.status = "done"
    task.outcome = record.outcome  # in stored form (not_reached → no_answer)
    task.notes = contact.notes
    task.completed_at = func.now()
    task.updated_at = func.now()
    follow_up_id = None
    if follow_up is not None:
        follow_up_id = await _create_follow_up(session, task, follow_up, principal)
        record.follow_up_task_id = follow_up_id
    cared = False
    anomaly = four_high_kind(task)
    if anomaly and contact.outcome in CARED_OUTCOMES:
        await mark_cared(session, task.customer_id, anomaly)
        cared = True
    if task.kind in ("birthday", "holiday") and contact.outcome in CARED_OUTCOMES:
        await mark_greeting_from_task(
            session, task, staff_id=principal.id, channel=contact.channel, touch_id=record.touch_id
        )
    reassignment_id = None
    if reassignment_reason:
        reassignment_id = await _pending_request(session, principal, customer, reassignment_reason, task.id)
    await session.flush()
    await session.refresh(task)
    return {
        "task": task_out(task),
        "reassignment_request_id": reassignment_id,
        "contact_id": record.id,
        "touch_id": record.touch_id,
        "subscription_id": record.subscription_id,
        "follow_up_task_id": follow_up_id,
        "four_high_marked_cared": cared,
    }


def four_high_kind(task: CareTask) -> str | None:
    """The anomaly kind of a four-high task (engine key `four_high:<customer>:<kind>:<YYYY-MM>`;
    follow-ups extend their origin's key, so they carry it too)."""
    if task.kind != "four_high":
        return None
    parts = task.dedupe_key.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "four_high" else None


async def _create_follow_up(session: AsyncSession, task: CareTask, follow_up: FollowUp, principal: Principal) -> int:
    """A new task with its own dedupe key (the origin's key + `:fu<task id>`): one per completion."""
    key = f"{task.dedupe_key[:100]}:fu{task.id}"
    task_id = await session.scalar(
        insert(CareTask)
        .values(
            customer_id=task.customer_id,
            manager_id=task.manager_id or principal.id,
            kind=task.kind,
            dedupe_key=key,
            due_on=follow_up.due_on,
            reason=follow_up.reason[:300],
            product_id=task.product_id,
            script=task.script,
            campaign_id=task.campaign_id,
            status="open",
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(CareTask.id)
    )
    if task_id is None:
        task_id = await session.scalar(select(CareTask.id).where(CareTask.dedupe_key == key))
    assert task_id is not None
    return task_id


# --- reassignment --------------------------------------------------------------------------


def request_out(r: ReassignmentRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "task_id": r.task_id,
        "branch_id": r.branch_id,
        "requested_by": r.requested_by,
        "reason": r.reason,
        "status": r.status,
        "to_manager_id": r.to_manager_id,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at,
        "created_at": r.created_at,
    }


async def _pending_request(
    session: AsyncSession, principal: Principal, customer: Customer, reason: str, task_id: int | None
) -> int | None:
    """Insert a pending request; None if one is already pending for this customer."""
    return await session.scalar(
        insert(ReassignmentRequest)
        .values(
            customer_id=customer.id,
            task_id=task_id,
            branch_id=customer.branch_id,
            requested_by=principal.id,
            reason=reason,
            status="pending",
        )
        .on_conflict_do_nothing(index_elements=["customer_id"], index_where=text("status = 'pending'"))
        .returning(ReassignmentRequest.id)
    )


async def request_reassignment(
    session: AsyncSession, principal: Principal, *, customer_id: int, reason: str, task_id: int | None = None
) -> ReassignmentRequest:
    """Record a manager's request to hand a customer on; one pending request per customer (409)."""
    customer = await scoping.get_visible_customer(session, principal, customer_id)
    if task_id is not None:
        task = await get_visible_task(session, principal, task_id)
        if task.customer_id != customer.id:
            raise NotFound("task not found", task_id=task_id)
    row_id = await _pending_request(session, principal, customer, reason, task_id)
    if row_id is None:
        raise Conflict("a reassignment request for this customer is already pending", customer_id=customer.id)
    request = await session.get(ReassignmentRequest, row_id)
    assert request is not None
    return request


async def list_reassignments(
    session: AsyncSession, principal: Principal, *, status: str | None
) -> list[ReassignmentRequest]:
    stmt = select(ReassignmentRequest).where(scoping.reassignment_visible(principal))
    if status:
        stmt = stmt.where(ReassignmentRequest.status == status)
    return list((await session.scalars(stmt.order_by(ReassignmentRequest.id.desc()).limit(200))).all())


async def decide_reassignment(
    session: AsyncSession, principal: Principal, request_id: int, *, approve: bool, to_manager_id: int | None
) -> ReassignmentRequest:
    """Branch head decides. Approval moves the assignment, writes assignment_history and hands the
    customer's open tasks to the new manager, all in this transaction. The pending → decided
    transition is one guarded UPDATE, so two concurrent decisions cannot both apply."""
    if not scoping.is_branch_head(principal):
        raise NotFound("reassignment request not found", request_id=request_id)
    request = await session.scalar(
        select(ReassignmentRequest)
        .where(ReassignmentRequest.id == request_id, scoping.reassignment_visible(principal))
        .with_for_update()
    )
    if request is None:
        raise NotFound("reassignment request not found", request_id=request_id)
    if request.status != "pending":
        raise Conflict("request already decided", request_id=request_id, status=request.status)
    if approve:
        if to_manager_id is None:
            raise Unprocessable("approving needs to_manager_id")
        target = await scoping.get_visible_staff(session, principal, to_manager_id)
        if not is_account_manager(target) or not target.active:
            raise Unprocessable("the new manager must be an active account manager of the branch")
        current = await session.scalar(
            select(ManagerAssignment.manager_id)
            .where(ManagerAssignment.customer_id == request.customer_id)
            .with_for_update()
        )
        await session.execute(
            insert(ManagerAssignment)
            .values(customer_id=request.customer_id, manager_id=target.id, reason="reassignment request")
            .on_conflict_do_update(
                index_elements=["customer_id"], set_={"manager_id": target.id, "reason": "reassignment request"}
            )
        )
        session.add(
            AssignmentHistory(
                customer_id=request.customer_id,
                from_manager_id=current,
                to_manager_id=target.id,
                reason=request.reason[:200],
                actor_id=principal.id,
            )
        )
        await session.execute(
            update(CareTask)
            .where(CareTask.customer_id == request.customer_id, CareTask.status.in_(OPEN))
            .values(manager_id=target.id, updated_at=func.now())
        )
        await session.execute(update(Customer).where(Customer.id == request.customer_id).values(updated_at=func.now()))
    request.status = "approved" if approve else "rejected"
    request.to_manager_id = to_manager_id if approve else None
    request.decided_by = principal.id
    request.decided_at = datetime.now(clock.TZ)
    await session.flush()
    return request


async def branch_managers(session: AsyncSession, principal: Principal) -> list[StaffUser]:
    stmt = select(StaffUser).where(scoping.staff_visible(principal), StaffUser.role == "account_manager")
    return list((await session.scalars(stmt.order_by(StaffUser.id))).all())
