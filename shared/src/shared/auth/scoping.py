"""Row scoping: the ONE implementation of who may see which customers, tasks and staff.

Rules (manager app):
- account manager: the customers assigned to them now (`manager_assignments.manager_id = me`);
  tasks only when they are the task's manager AND the customer is still assigned to them.
- branch head: the customers of their branch (`customers.branch_id = my org unit`), the tasks of
  those customers, and the staff of their branch. A head without an org unit sees nothing.
- hall staff: no list at all; one active customer at a time, looked up by the full phone number
  the walk-in gives, and every lookup is audited (`lookup_walk_in`).
- anyone else: nothing.

Every repository query takes the principal and applies these helpers; an id outside the scope is
indistinguishable from a missing id (404). Nothing here commits.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record
from shared.auth.principals import Principal
from shared.errors import NotFound
from shared.models import CareTask, Customer, ManagerAssignment, ReassignmentRequest, StaffUser

ACCOUNT_MANAGER = "account_manager"
BRANCH_HEAD = "branch_head"
HALL_STAFF = "hall_staff"

# Scoping adds a join or a WHERE: the statement keeps its columns, so its type passes through.
AnySelect = TypeVar("AnySelect", bound=Select)


def _is(principal: Principal, role: str) -> bool:
    return principal.kind == "staff" and principal.role == role


def is_branch_head(principal: Principal) -> bool:
    return _is(principal, BRANCH_HEAD) and principal.org_unit_id is not None


def customer_visible(principal: Principal, customer_id: Any) -> ColumnElement[bool]:
    """Boolean clause: the customer whose id is `customer_id` (a column or value) is in scope."""
    return customer_visible_bound(scope_kind(principal), customer_id).params(scope_params(principal))


def customer_visible_bound(kind: str, customer_id: Any) -> ColumnElement[bool]:
    """customer_visible with the principal left as placeholders (`scope_params`)."""
    if kind == "manager":
        return exists().where(
            ManagerAssignment.customer_id == customer_id, ManagerAssignment.manager_id == bindparam("scope_manager_id")
        )
    if kind == "branch":
        c = Customer.__table__.alias("scope_c")
        return exists().where(c.c.id == customer_id, c.c.branch_id == bindparam("scope_branch_id"))
    return false()


def scope_customers(stmt: AnySelect, principal: Principal) -> AnySelect:
    """Restrict a SELECT that has `customers` in its FROM to the principal's customers.

    Managers are driven from `manager_assignments(manager_id, customer_id)` (an index-only scan of
    at most a few hundred rows); branch heads from `customers(branch_id, id)`.
    """
    if _is(principal, ACCOUNT_MANAGER):
        return stmt.join(
            ManagerAssignment,
            and_(ManagerAssignment.customer_id == Customer.id, ManagerAssignment.manager_id == principal.id),
        )
    if is_branch_head(principal):
        return stmt.where(Customer.branch_id == principal.org_unit_id)
    return stmt.where(false())


def scope_kind(principal: Principal) -> str:
    """ "manager", "branch" or "none": which of scope_customers' restrictions applies."""
    if _is(principal, ACCOUNT_MANAGER):
        return "manager"
    return "branch" if is_branch_head(principal) else "none"


def scope_params(principal: Principal) -> dict[str, Any]:
    """Values for the placeholders of `scope_customers_bound`."""
    return {"scope_manager_id": principal.id, "scope_branch_id": principal.org_unit_id}


def scope_customers_bound(stmt: AnySelect, kind: str) -> AnySelect:
    """scope_customers with the principal left as placeholders (`scope_params`), so a statement
    can be built once per shape and reused for every caller of that kind."""
    if kind == "manager":
        return stmt.join(
            ManagerAssignment,
            and_(
                ManagerAssignment.customer_id == Customer.id,
                ManagerAssignment.manager_id == bindparam("scope_manager_id"),
            ),
        )
    if kind == "branch":
        return stmt.where(Customer.branch_id == bindparam("scope_branch_id"))
    return stmt.where(false())


def task_visible(principal: Principal) -> ColumnElement[bool]:
    """Clause on `care_tasks`: the task is one the principal may see and act on."""
    if _is(principal, ACCOUNT_MANAGER):
        return and_(CareTask.manager_id == principal.id, customer_visible(principal, CareTask.customer_id))
    if is_branch_head(principal):
        return customer_visible(principal, CareTask.customer_id)
    return false()


def staff_visible(principal: Principal) -> ColumnElement[bool]:
    """Clause on `staff_users`: a manager sees only themself, a branch head their branch's staff."""
    if _is(principal, ACCOUNT_MANAGER):
        return StaffUser.id == principal.id
    if is_branch_head(principal):
        return StaffUser.org_unit_id == principal.org_unit_id
    return false()


def reassignment_visible(principal: Principal) -> ColumnElement[bool]:
    """Clause on `reassignment_requests`: the requester sees theirs, the head their branch's."""
    if _is(principal, ACCOUNT_MANAGER):
        return ReassignmentRequest.requested_by == principal.id
    if is_branch_head(principal):
        return ReassignmentRequest.branch_id == principal.org_unit_id
    return false()


@lru_cache(maxsize=16)
def _visible_customer_statement(kind: str, for_update: bool) -> Select[Any]:
    """Built once per scope kind: the portrait and every action on a customer start here."""
    stmt = select(Customer).where(Customer.id == bindparam("customer_id"), customer_visible_bound(kind, Customer.id))
    return stmt.with_for_update(of=Customer) if for_update else stmt


async def get_visible_customer(
    session: AsyncSession, principal: Principal, customer_id: int, *, for_update: bool = False
) -> Customer:
    """The customer if in scope, else NotFound (the same answer as for an id that does not exist)."""
    stmt = _visible_customer_statement(scope_kind(principal), for_update)
    customer = await session.scalar(stmt, {"customer_id": customer_id, **scope_params(principal)})
    if customer is None:
        raise NotFound("customer not found", customer_id=customer_id)
    return customer


async def get_visible_staff(session: AsyncSession, principal: Principal, staff_id: int) -> StaffUser:
    staff = await session.scalar(select(StaffUser).where(StaffUser.id == staff_id, staff_visible(principal)))
    if staff is None:
        raise NotFound("staff member not found", staff_id=staff_id)
    return staff


async def lookup_walk_in(
    session: AsyncSession, principal: Principal, phone: str, *, ip: str | None = None
) -> Customer | None:
    """Hall counter: the active customer with exactly this phone number, or None.

    Only hall staff and branch heads may look up; the lookup is audited whether or not it finds
    someone (the audit row carries the last four digits only, never the full number).
    """

    if not (_is(principal, HALL_STAFF) or _is(principal, BRANCH_HEAD)):
        raise NotFound("customer not found")
    customer = await session.scalar(select(Customer).where(Customer.phone == phone, Customer.status == "active"))
    await record(
        session,
        principal=principal,
        action="counter.lookup",
        object_kind="customer",
        object_id=customer.id if customer else None,
        detail={"found": customer is not None, "phone_last4": phone[-4:]},
        ip=ip,
    )
    return customer
