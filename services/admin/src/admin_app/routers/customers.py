"""Customer 360 for the back office: search, and one customer's profile, tags, usage trend,
touches, tasks, subscriptions and complaints.

Personal data is masked unless `unmask=true`, which only roles holding `customers.unmask` may ask
for and which writes an audit row (who, which customer, when, from where) in the same
transaction as the read. Branch heads see only their branch's customers (others are 404).
"""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import or_, select, text

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, page, record
from shared.backoffice.permissions import allows, branch_scope, check_branch
from shared.errors import Forbidden, NotFound
from shared.masking import mask_id_number, mask_name, mask_phone
from shared.models import Customer, OrgUnit, Product
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import After, Id, IntId

router = APIRouter(prefix="/v1", tags=["customers"])


class CustomerRow(BaseModel):
    id: int
    name: str | None
    phone: str | None
    tier: str
    status: str
    branch_id: int | None
    join_date: date


class Customer360(BaseModel):
    id: int
    unmasked: bool
    name: str | None
    phone: str | None
    id_number: str | None
    email: str | None
    address: str | None
    gender: str | None
    birthday: date | None
    tier: str
    status: str
    churned_on: date | None
    join_date: date
    tenure_months: int
    branch: dict[str, Any] | None
    plan: dict[str, Any] | None
    contract_end: date | None
    do_not_disturb: bool
    manager: dict[str, Any] | None
    profile: dict[str, Any] | None
    tags: list[dict[str, Any]]
    usage_trend: list[dict[str, Any]]
    subscriptions: list[dict[str, Any]]
    touches: list[dict[str, Any]]
    tasks: list[dict[str, Any]]
    complaints: list[dict[str, Any]]
    handset: dict[str, Any] | None


def _rows(result) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [dict(r._mapping) for r in result.all()]


@router.get("/customers", response_model=Page[CustomerRow],
            summary="Search customers by full phone, last 4 digits or name (always masked)")
async def search(
    principal: can("customers.read"), session: ReadSession,
    q: str | None = Query(None, min_length=1, max_length=40), tier: str | None = Query(None, max_length=12),
    branch_id: IntId | None = None, after: After = 0, limit: int = Limit,
) -> Page[CustomerRow]:
    stmt = select(Customer).where(Customer.id > after).order_by(Customer.id).limit(limit)
    scope = branch_scope(principal)
    if scope is not None:
        stmt = stmt.where(Customer.branch_id == scope)
    elif branch_id is not None:
        stmt = stmt.where(Customer.branch_id == branch_id)
    if tier:
        stmt = stmt.where(Customer.tier == tier)
    if q:
        q = q.strip()
        if q.isdigit() and len(q) == 11:
            stmt = stmt.where(Customer.phone == q)
        elif q.isdigit() and len(q) == 4:
            stmt = stmt.where(Customer.phone_last4 == q)
        elif q.isdigit():
            stmt = stmt.where(or_(Customer.id == int(q), Customer.phone.startswith(q)))
        else:
            stmt = stmt.where(Customer.name.startswith(q.replace("%", "").replace("_", "")))
    rows = (await session.scalars(stmt)).all()
    return page([CustomerRow(id=c.id, name=mask_name(c.name), phone=mask_phone(c.phone), tier=c.tier, status=c.status,
                             branch_id=c.branch_id, join_date=c.join_date) for c in rows], limit)


@router.get("/customers/{customer_id}", response_model=Customer360,
            summary="Customer 360 (unmask=true: admin only, audited)")
async def customer_360(
    customer_id: Id, request: Request, principal: can("customers.read"), session: WriteSession,
    unmask: bool = False,
) -> Customer360:
    if unmask and not allows(principal, "customers.unmask"):
        raise Forbidden("your role may not see unmasked personal data", role=principal.role)
    c = await session.get(Customer, customer_id)
    if c is None:
        raise NotFound("customer not found")
    check_branch(principal, c.branch_id, what="customer")
    p = {"c": customer_id}
    branch = await session.get(OrgUnit, c.branch_id) if c.branch_id else None
    plan = await session.get(Product, c.plan_id) if c.plan_id else None
    manager = (await session.execute(text(
        "SELECT s.id, s.username, s.full_name, a.reason, a.created_at AS since FROM manager_assignments a "
        "JOIN staff_users s ON s.id = a.manager_id WHERE a.customer_id = :c"), p)).first()
    profile = (await session.execute(text(
        "SELECT lifecycle_stage, segment, sub_segment, churn_score, warning_coefficient, risk_level, top_factors, "
        "four_high, preferred_channel, arpu_fen, model_version, updated_at FROM customer_profiles WHERE customer_id = :c"),
        p)).first()
    tags = _rows(await session.execute(text(
        "SELECT td.code, td.name, td.family, coalesce(h.at, ts.since) AS since "
        "FROM customer_tag_sets ts JOIN tag_definitions td ON td.id = ANY(ts.tag_ids) "
        "LEFT JOIN LATERAL (SELECT max(at) AS at FROM customer_tag_history "
        "                   WHERE customer_id = ts.customer_id AND tag_id = td.id AND event = 'gained') h ON true "
        "WHERE ts.customer_id = :c ORDER BY td.family, td.code"), p))
    usage = _rows(await session.execute(text(
        "SELECT month, bill_fen, voice_min, data_mb, sms, roaming_fen, payg_data_fen, balance_end_fen, active_days "
        "FROM monthly_usage WHERE customer_id = :c ORDER BY month DESC LIMIT 12"), p))
    subs = _rows(await session.execute(text(
        "SELECT s.id, s.product_id, pr.name AS product, pr.kind, s.status, s.starts_on, s.ends_on, s.channel "
        "FROM subscriptions s JOIN products pr ON pr.id = s.product_id WHERE s.customer_id = :c "
        "ORDER BY s.id DESC LIMIT 20"), p))
    touches = _rows(await session.execute(text(
        "SELECT id, channel, occurred_at, outcome, staff_id, campaign_id, product_id, cost_fen FROM touches "
        "WHERE customer_id = :c ORDER BY occurred_at DESC LIMIT 50"), p))
    tasks = _rows(await session.execute(text(
        "SELECT id, kind, due_on, status, outcome, manager_id, campaign_id, reason FROM care_tasks "
        "WHERE customer_id = :c ORDER BY due_on DESC LIMIT 50"), p))
    complaints = _rows(await session.execute(text(
        "SELECT occurred_at, category, channel, resolved, satisfaction FROM complaints WHERE customer_id = :c "
        "ORDER BY occurred_at DESC LIMIT 20"), p))
    handset = (await session.execute(text(
        "SELECT brand, model, price_band, dual_sim, started_on FROM handsets WHERE customer_id = :c "
        "ORDER BY started_on DESC LIMIT 1"), p)).first()
    today = date.today()
    tenure = (today.year - c.join_date.year) * 12 + today.month - c.join_date.month
    if unmask:
        await record(session, request, principal, "customer.unmask", "customer", customer_id,
                     {"fields": ["name", "phone", "id_number", "email", "address", "birthday"]})
    return Customer360(
        id=c.id, unmasked=unmask,
        name=c.name if unmask else mask_name(c.name),
        phone=c.phone if unmask else mask_phone(c.phone),
        id_number=c.id_number if unmask else mask_id_number(c.id_number),
        email=c.email if unmask else (None if not c.email else "***@" + c.email.split("@")[-1]),
        address=c.address if unmask else (None if not c.address else c.address[:6] + "***"),
        gender=c.gender, birthday=c.birthday if unmask else None, tier=c.tier, status=c.status,
        churned_on=c.churned_on, join_date=c.join_date, tenure_months=max(0, tenure),
        branch=None if branch is None else {"id": branch.id, "code": branch.code, "name": branch.name},
        plan=None if plan is None else {"id": plan.id, "code": plan.code, "name": plan.name,
                                        "monthly_fee_fen": plan.monthly_fee_fen},
        contract_end=c.contract_end, do_not_disturb=c.do_not_disturb,
        manager=None if manager is None else dict(manager._mapping),
        profile=None if profile is None else dict(profile._mapping),
        tags=tags, usage_trend=list(reversed(usage)), subscriptions=subs, touches=touches, tasks=tasks,
        complaints=complaints, handset=None if handset is None else dict(handset._mapping),
    )
