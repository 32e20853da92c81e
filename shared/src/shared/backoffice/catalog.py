"""The product library: plans, add-ons, contracts, broadband, family, memberships, with eligibility.

Eligibility keys are the ones ordering enforces (shared.business.orders): min_tier, tiers,
plan_ids, min_tenure_months, max_per_customer. Products are never deleted (subscriptions and
strategies point at them): withdrawing sets active = false. Codes are unique (Conflict).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict, NotFound, Unprocessable
from shared.models import Product


async def list_products(
    session: AsyncSession,
    *,
    kind: str | None = None,
    active: bool | None = None,
    q: str | None = None,
    after: int = 0,
    limit: int = 50,
) -> list[Product]:
    stmt = select(Product).where(Product.id > after).order_by(Product.id).limit(limit)
    if kind:
        stmt = stmt.where(Product.kind == kind)
    if active is not None:
        stmt = stmt.where(Product.active.is_(active))
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Product.code.ilike(like), Product.name.ilike(like)))
    return list((await session.scalars(stmt)).all())


async def get_product(session: AsyncSession, product_id: int) -> Product:
    product = await session.get(Product, product_id)
    if product is None:
        raise NotFound("product not found", id=product_id)
    return product


async def _check_plan_ids(session: AsyncSession, eligibility: dict[str, Any]) -> None:
    ids = eligibility.get("plan_ids") or []
    if ids:
        found = set(
            (await session.scalars(select(Product.id).where(Product.id.in_(ids), Product.kind == "plan"))).all()
        )
        if missing := sorted(set(ids) - found):
            raise Unprocessable("eligibility.plan_ids must name plans", missing=missing)


async def create_product(session: AsyncSession, **fields: Any) -> Product:
    await _check_plan_ids(session, fields.get("eligibility") or {})
    product = Product(**fields)
    try:
        async with session.begin_nested():  # a failed insert leaves the caller's transaction usable
            session.add(product)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("a product with this code exists", code=fields.get("code")) from exc
    return product


async def update_product(session: AsyncSession, product_id: int, **fields: Any) -> tuple[Product, dict[str, Any]]:
    product = await get_product(session, product_id)
    if fields.get("eligibility") is not None:
        await _check_plan_ids(session, fields["eligibility"])
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if value is not None and value != getattr(product, name):
            changes[name] = [getattr(product, name), value]
            setattr(product, name, value)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("a product with this code exists") from exc
    return product, changes
