"""The product library: list, create, edit and withdraw products (with ordering eligibility)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field

from admin_app.auth import can
from admin_app.routers._backoffice import Limit, Page, Strict, page, record
from shared.backoffice import catalog as catalog_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Count, DataMb, Fen, IntAfter, IntId, RefId

router = APIRouter(prefix="/v1", tags=["products"])

Kind = Literal["plan", "data_pack", "voice_pack", "contract", "recharge_bonus", "broadband", "family", "membership"]
TierName = Literal["star1", "star2", "star3", "star4", "star5", "gold", "diamond"]


class Rebate(Strict):
    """A rebate schedule (存就送, 充100送60): a fixed total or a percent of the charge, over `months`."""

    months: Annotated[Count, Field(ge=1, le=60)]
    total_fen: Fen | None = None
    percent: Annotated[Count, Field(ge=1, le=200)] | None = None


class Eligibility(Strict):
    """Who may order the product, and its contract terms (shared.business.contracts)."""

    min_tier: TierName | None = None
    tiers: list[TierName] = Field(default=[], max_length=7)
    plan_ids: list[RefId] = Field(default=[], max_length=100)
    min_tenure_months: Annotated[Count, Field(le=600)] | None = None
    max_per_customer: Annotated[Count, Field(ge=1, le=100)] | None = None
    rebate: Rebate | None = None
    cancel_policy: Literal["forfeit", "penalty"] | None = None
    cancel_penalty_fen: Fen | None = None
    min_term_months: Annotated[Count, Field(ge=1, le=120)] | None = None
    early_termination: Literal["refuse", "fee"] | None = None
    early_termination_fee_fen: Fen | None = None


class ProductIn(Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9_.\-]{2,40}$")
    name: str = Field(min_length=1, max_length=120)
    kind: Kind
    monthly_fee_fen: Fen = 0
    one_time_fee_fen: Fen = 0
    data_mb: DataMb = 0
    voice_min: Count = 0
    sms: Count = 0
    duration_months: Annotated[Count, Field(ge=1, le=120)] | None = None
    eligibility: Eligibility = Field(default_factory=Eligibility)
    selling_points: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=4000)
    active: bool = True


class ProductPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    monthly_fee_fen: Fen | None = None
    one_time_fee_fen: Fen | None = None
    data_mb: DataMb | None = None
    voice_min: Count | None = None
    sms: Count | None = None
    duration_months: Annotated[Count, Field(ge=1, le=120)] | None = None
    eligibility: Eligibility | None = None
    selling_points: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=4000)
    active: bool | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    kind: str
    monthly_fee_fen: int
    one_time_fee_fen: int
    data_mb: int
    voice_min: int
    sms: int
    duration_months: int | None
    eligibility: dict
    selling_points: str | None
    description: str | None
    active: bool
    created_at: datetime


def _elig(e: Eligibility | None) -> dict | None:
    return None if e is None else e.model_dump(exclude_none=True, exclude_defaults=True)


@router.get("/products", response_model=Page[ProductOut], summary="The product library")
async def list_products(
    principal: can("products.read"),
    session: ReadSession,
    kind: Kind | None = None,
    active: bool | None = None,
    q: str | None = Query(None, max_length=60),
    after: IntAfter = 0,
    limit: int = Limit,
) -> Page[ProductOut]:
    rows = await catalog_service.list_products(session, kind=kind, active=active, q=q, after=after, limit=limit)
    return page([ProductOut.model_validate(p) for p in rows], limit)


@router.get("/products/{product_id}", response_model=ProductOut, summary="One product")
async def get_product(product_id: IntId, principal: can("products.read"), session: ReadSession) -> ProductOut:
    return ProductOut.model_validate(await catalog_service.get_product(session, product_id))


@router.post("/products", response_model=ProductOut, status_code=status.HTTP_201_CREATED, summary="Add a product")
async def create_product(
    body: ProductIn, request: Request, principal: can("products.write"), session: WriteSession
) -> ProductOut:
    fields = body.model_dump(exclude={"eligibility"})
    product = await catalog_service.create_product(session, **fields, eligibility=_elig(body.eligibility))
    await record(session, request, principal, "product.create", "product", product.id, body.model_dump(mode="json"))
    return ProductOut.model_validate(product)


@router.patch(
    "/products/{product_id}",
    response_model=ProductOut,
    summary="Edit a product (active=false withdraws it from sale; products are never deleted)",
)
async def update_product(
    product_id: IntId, body: ProductPatch, request: Request, principal: can("products.write"), session: WriteSession
) -> ProductOut:
    fields = body.model_dump(exclude={"eligibility"})
    fields["eligibility"] = _elig(body.eligibility)
    product, changes = await catalog_service.update_product(session, product_id, **fields)
    if changes:
        await record(
            session,
            request,
            principal,
            "product.update",
            "product",
            product_id,
            {k: [str(a), str(b)] for k, (a, b) in changes.items()},
        )
    return ProductOut.model_validate(product)
