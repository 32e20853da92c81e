"""Back office for the merchant alliance: applications, credentials, offer approval, operator
budgets, merchant top-ups, packs, statements. Every change is audited in its own transaction.

Roles: reads by admin/operator/auditor; decisions by Operators; money and credentials AdminOnly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.auth import AdminOnly, Operators
from shared.alliance import accounts, onboarding, packs, settlement
from shared.alliance import offers as offer_service
from shared.alliance.redemption import REVERSAL_SETTING
from shared.audit import service as audit
from shared.auth.principals import Principal
from shared.masking import mask_phone
from shared.models import LedgerAccount, Merchant, Offer, OperatorPack, Settlement
from shared.programme import settings as programme_settings
from shared.web.deps import ReadSession, WriteSession, client_ip, require
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import Count, Fen, IntAfter, IntId, RefId

router = APIRouter(prefix="/v1/alliance", tags=["alliance"])
Readers = require("admin", "operator", "auditor")
ERRORS = {
    404: {"description": "not found"},
    409: {"description": "not allowed in this state / key reused"},
    422: {"description": "invalid"},
}
Asset = Literal["points", "airtime_fen", "data_mb"]


async def _audit(
    session: AsyncSession, p: Principal, request: Request, action: str, kind: str, oid: object, **detail: Any
) -> None:
    await audit.record(
        session, principal=p, action=action, object_kind=kind, object_id=oid, detail=detail, ip=client_ip(request)
    )


# --- merchants ----------------------------------------------------------------------------------


class StoreOut(BaseModel):
    id: int
    name: str
    address: str


class ClientOut(BaseModel):
    client_id: str
    active: bool
    created_at: datetime
    revoked_at: datetime | None


class MerchantOut(BaseModel):
    id: int
    name: str
    category: str
    contact_name: str
    contact_phone_masked: str | None
    status: str
    created_at: datetime
    approved_at: datetime | None
    webhook_url: str | None

    @classmethod
    def of(cls, m: Merchant) -> MerchantOut:
        return cls(
            id=m.id,
            name=m.name,
            category=m.category,
            contact_name=m.contact_name,
            contact_phone_masked=mask_phone(m.contact_phone),
            status=m.status,
            created_at=m.created_at,
            approved_at=m.approved_at,
            webhook_url=m.webhook_url,
        )


class MerchantDetailOut(MerchantOut):
    settlement_account_masked: str
    stores: list[StoreOut]
    clients: list[ClientOut]
    prepaid_balance_fen: int


class CredentialOut(BaseModel):
    client_id: str
    client_secret: str | None = Field(None, description="shown once; a replay of the request returns null")


class TopupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_fen: Annotated[Fen, Field(ge=1)]


class BalanceOut(BaseModel):
    balance_fen: int


@router.get("/merchants", response_model=list[MerchantOut], summary="Merchants and applications")
async def list_merchants(
    principal: Readers,
    session: ReadSession,
    status_: str | None = Query(None, alias="status", pattern="^(applied|approved|rejected|suspended|ended)$"),
    after_id: IntAfter = 0,
    limit: int = Query(50, ge=1, le=100),
) -> list[MerchantOut]:
    stmt = select(Merchant).where(Merchant.id > after_id)
    if status_:
        stmt = stmt.where(Merchant.status == status_)
    return [MerchantOut.of(m) for m in (await session.scalars(stmt.order_by(Merchant.id).limit(limit))).all()]


@router.get("/merchants/{merchant_id}", response_model=MerchantDetailOut, responses=ERRORS, summary="One merchant")
async def get_merchant(merchant_id: IntId, principal: Readers, session: ReadSession) -> MerchantDetailOut:
    m = await onboarding.get(session, merchant_id)
    stores = await onboarding.stores_of(session, merchant_id)
    clients = await onboarding.clients_of(session, merchant_id)
    balance = await session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.kind == "merchant",
            LedgerAccount.asset == "airtime_fen",
            LedgerAccount.owner_id == merchant_id,
        )
    )
    return MerchantDetailOut(
        **MerchantOut.of(m).model_dump(),
        settlement_account_masked=f"****{m.settlement_account[-4:]}",
        stores=[StoreOut(id=s.id, name=s.name, address=s.address) for s in stores],
        clients=[
            ClientOut(client_id=c.client_id, active=c.active, created_at=c.created_at, revoked_at=c.revoked_at)
            for c in clients
        ],
        prepaid_balance_fen=int(balance or 0),
    )


async def _credential(
    session: AsyncSession,
    principal: Principal,
    key: str,
    payload: dict[str, Any],
    make: Callable[[], Awaitable[onboarding.IssuedClient]],
) -> Response:
    """Run a credential change once; the stored replay never contains the secret."""
    shown: list[onboarding.IssuedClient] = []

    async def handler() -> CredentialOut:
        issued = await make()
        shown.append(issued)
        return CredentialOut(client_id=issued.client_id, client_secret=None)

    response = await run_once(session, principal=principal, key=key, payload=payload, handler=handler, status_code=201)
    if shown:
        return JSONResponse(
            CredentialOut(client_id=shown[0].client_id, client_secret=shown[0].client_secret).model_dump(),
            status_code=201,
        )
    return response


@router.post(
    "/merchants/{merchant_id}/clients",
    status_code=status.HTTP_201_CREATED,
    response_model=CredentialOut,
    responses=ERRORS,
    summary="Issue OAuth2 client credentials (secret shown once)",
)
async def issue_client(
    merchant_id: IntId, request: Request, principal: AdminOnly, session: WriteSession, key: str = IdempotencyKey
):
    async def make() -> onboarding.IssuedClient:
        issued = await onboarding.issue_client(session, merchant_id=merchant_id)
        await _audit(
            session, principal, request, "alliance.client.issue", "merchant", merchant_id, client_id=issued.client_id
        )
        return issued

    return await _credential(session, principal, key, {"issue": merchant_id}, make)


@router.post(
    "/merchants/{merchant_id}/clients/{client_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=CredentialOut,
    responses=ERRORS,
    summary="Replace a client's secret (shown once)",
)
async def rotate_client(
    merchant_id: IntId,
    client_id: str,
    request: Request,
    principal: AdminOnly,
    session: WriteSession,
    key: str = IdempotencyKey,
):
    async def make() -> onboarding.IssuedClient:
        issued = await onboarding.rotate_client(session, merchant_id=merchant_id, client_id=client_id)
        await _audit(
            session, principal, request, "alliance.client.rotate", "merchant", merchant_id, client_id=client_id
        )
        return issued

    return await _credential(session, principal, key, {"rotate": client_id, "merchant": merchant_id}, make)


@router.post(
    "/merchants/{merchant_id}/clients/{client_id}/revoke",
    response_model=ClientOut,
    responses=ERRORS,
    summary="Revoke a client: its secret stops working at once",
)
async def revoke_client(
    merchant_id: IntId,
    client_id: str,
    request: Request,
    principal: AdminOnly,
    session: WriteSession,
    key: str = IdempotencyKey,
):
    async def handler() -> ClientOut:
        c = await onboarding.revoke_client(session, merchant_id=merchant_id, client_id=client_id)
        await _audit(
            session, principal, request, "alliance.client.revoke", "merchant", merchant_id, client_id=client_id
        )
        return ClientOut(client_id=c.client_id, active=c.active, created_at=c.created_at, revoked_at=c.revoked_at)

    return await run_once(
        session, principal=principal, key=key, payload={"revoke": client_id, "merchant": merchant_id}, handler=handler
    )


@router.post(
    "/merchants/{merchant_id}/topups",
    response_model=BalanceOut,
    responses=ERRORS,
    summary="Credit a merchant's prepaid account (funds received)",
)
async def topup(
    merchant_id: IntId,
    body: TopupIn,
    request: Request,
    principal: AdminOnly,
    session: WriteSession,
    key: str = IdempotencyKey,
):
    async def handler() -> BalanceOut:
        balance = await packs.topup_merchant(
            session, merchant_id=merchant_id, amount_fen=body.amount_fen, key=key, actor=principal.subject
        )
        await _audit(
            session, principal, request, "alliance.merchant.topup", "merchant", merchant_id, amount_fen=body.amount_fen
        )
        return BalanceOut(balance_fen=balance)

    return await run_once(
        session, principal=principal, key=key, payload={"merchant": merchant_id, **body.model_dump()}, handler=handler
    )


@router.post(
    "/merchants/{merchant_id}/{action}",
    response_model=MerchantOut,
    responses=ERRORS,
    summary="Decide on a merchant: approve, reject, suspend, end",
)
async def decide_merchant(
    merchant_id: IntId,
    action: Literal["approve", "reject", "suspend", "end"],
    request: Request,
    principal: Operators,
    session: WriteSession,
    key: str = IdempotencyKey,
):
    to = {"approve": "approved", "reject": "rejected", "suspend": "suspended", "end": "ended"}[action]

    async def handler() -> MerchantOut:
        m = await onboarding.transition(session, merchant_id=merchant_id, to=to)
        await _audit(session, principal, request, f"alliance.merchant.{action}", "merchant", merchant_id)
        return MerchantOut.of(m)

    return await run_once(
        session, principal=principal, key=key, payload={"merchant": merchant_id, "to": to}, handler=handler
    )


# --- offers -------------------------------------------------------------------------------------


class OfferOut(BaseModel):
    id: int
    merchant_id: int
    title: str
    kind: str
    face_value_fen: int
    settlement_fen: int
    price_points: int
    price_airtime_fen: int
    stock_total: int
    stock_left: int
    per_customer_limit: int
    valid_from: datetime
    valid_to: datetime
    target_tiers: list[str]
    target_segments: list[str]
    status: str

    @classmethod
    def of(cls, o: Offer) -> OfferOut:
        return cls.model_validate(o, from_attributes=True)


@router.get("/offers", response_model=list[OfferOut], summary="Offers (e.g. status=pending for the approval queue)")
async def list_offers(
    principal: Readers,
    session: ReadSession,
    status_: str | None = Query(None, alias="status", pattern="^(pending|approved|rejected|ended)$"),
    merchant_id: IntId | None = None,
    after_id: IntAfter = 0,
    limit: int = Query(50, ge=1, le=100),
) -> list[OfferOut]:
    rows = await offer_service.list_all(
        session, status=status_, merchant_id=merchant_id, after_id=after_id, limit=limit
    )
    return [OfferOut.of(o) for o in rows]


@router.post(
    "/offers/{offer_id}/{decision}",
    response_model=OfferOut,
    responses=ERRORS,
    summary="Approve or reject a pending offer",
)
async def decide_offer(
    offer_id: IntId,
    decision: Literal["approve", "reject"],
    request: Request,
    principal: Operators,
    session: WriteSession,
    key: str = IdempotencyKey,
):
    async def handler() -> OfferOut:
        o = await offer_service.decide(session, offer_id=offer_id, approve=decision == "approve")
        await _audit(session, principal, request, f"alliance.offer.{decision}", "offer", offer_id)
        return OfferOut.of(o)

    return await run_once(
        session, principal=principal, key=key, payload={"offer": offer_id, "d": decision}, handler=handler
    )


# --- operator resources -------------------------------------------------------------------------


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    asset: Asset
    amount: Annotated[StrictInt, Field(ge=1, le=10_000_000_000)]


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=r"^[A-Z0-9_\-]{3,40}$")
    name: str = Field(min_length=2, max_length=120)
    asset: Asset
    amount: Annotated[StrictInt, Field(ge=1, le=10_000_000)]
    price_fen: Fen


class PackOut(BaseModel):
    id: int
    code: str
    name: str
    asset: str
    amount: int
    price_fen: int
    active: bool

    @classmethod
    def of(cls, p: OperatorPack) -> PackOut:
        return cls(
            id=p.id, code=p.code, name=p.name, asset=p.asset, amount=p.amount, price_fen=p.price_fen, active=p.active
        )


@router.get("/budgets", response_model=dict[str, int], summary="Operator budgets contributed to the alliance")
async def budgets(principal: Readers, session: ReadSession) -> dict[str, int]:
    return await accounts.balances(session)


@router.post("/budgets", response_model=dict[str, int], responses=ERRORS, summary="Contribute points, airtime or data")
async def fund(
    body: BudgetIn, request: Request, principal: AdminOnly, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> dict[str, int]:
        await packs.fund_budget(session, asset=body.asset, amount=body.amount, key=key, actor=principal.subject)
        await _audit(session, principal, request, "alliance.budget.fund", "budget", body.asset, amount=body.amount)
        return await accounts.balances(session)

    return await run_once(session, principal=principal, key=key, payload=body, handler=handler)


@router.get("/packs", response_model=list[PackOut], summary="Operator packs (active and retired)")
async def list_packs(principal: Readers, session: ReadSession) -> list[PackOut]:
    return [PackOut.of(p) for p in await packs.list_packs(session, active_only=False)]


@router.post(
    "/packs",
    status_code=status.HTTP_201_CREATED,
    response_model=PackOut,
    responses=ERRORS,
    summary="Put an operator pack on sale to merchants",
)
async def create_pack(
    body: PackIn, request: Request, principal: AdminOnly, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> PackOut:
        p = await packs.create_pack(session, **body.model_dump())
        await _audit(session, principal, request, "alliance.pack.create", "pack", p.id, code=p.code)
        return PackOut.of(p)

    return await run_once(session, principal=principal, key=key, payload=body, handler=handler, status_code=201)


class ReversalWindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minutes: Annotated[Count, Field(le=10_080)]


@router.get(
    "/settings/reversal-window", response_model=ReversalWindowIn, summary="How long a till may reverse a redemption"
)
async def get_reversal_window(principal: Readers, session: ReadSession) -> ReversalWindowIn:
    return ReversalWindowIn(minutes=int((await programme_settings.get(session, REVERSAL_SETTING))["minutes"]))


@router.put("/settings/reversal-window", response_model=ReversalWindowIn, summary="Set the reversal window")
async def set_reversal_window(
    body: ReversalWindowIn, request: Request, principal: AdminOnly, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> ReversalWindowIn:
        await programme_settings.put(session, REVERSAL_SETTING, {"minutes": body.minutes}, staff_id=principal.id)
        await _audit(
            session,
            principal,
            request,
            "alliance.settings.reversal_window",
            "setting",
            REVERSAL_SETTING,
            minutes=body.minutes,
        )
        return body

    return await run_once(session, principal=principal, key=key, payload=body, handler=handler)


# --- statements ---------------------------------------------------------------------------------


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    period_start: date
    period_end: date
    merchant_id: RefId | None = Field(None, description="omit for every merchant")

    @model_validator(mode="after")
    def _order(self) -> GenerateIn:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        if (self.period_end - self.period_start).days > 366:
            raise ValueError("a statement covers at most a year")
        return self


class StatementOut(BaseModel):
    id: int
    merchant_id: int
    period_start: date
    period_end: date
    lines: dict[str, Any]
    operator_owes_fen: int
    merchant_owes_fen: int
    status: str
    settled_at: datetime | None
    matches_ledger: bool | None = None

    @classmethod
    def of(cls, s: Settlement, matches: bool | None = None) -> StatementOut:
        return cls(
            id=s.id,
            merchant_id=s.merchant_id,
            period_start=s.period_start,
            period_end=s.period_end,
            lines=s.lines,
            operator_owes_fen=s.operator_owes_fen,
            merchant_owes_fen=s.merchant_owes_fen,
            status=s.status,
            settled_at=s.settled_at,
            matches_ledger=matches,
        )


@router.post(
    "/statements/generate",
    response_model=list[StatementOut],
    responses=ERRORS,
    summary="Compute and store statements for a period (open statements are recomputed)",
)
async def generate(
    body: GenerateIn, request: Request, principal: Operators, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> list[StatementOut]:
        if body.merchant_id is not None:
            rows = [
                await settlement.generate(
                    session, merchant_id=body.merchant_id, period_start=body.period_start, period_end=body.period_end
                )
            ]
        else:
            rows = await settlement.generate_all(session, period_start=body.period_start, period_end=body.period_end)
        await _audit(
            session,
            principal,
            request,
            "alliance.statements.generate",
            "period",
            f"{body.period_start}..{body.period_end}",
            merchant_id=body.merchant_id,
            count=len(rows),
        )
        return [StatementOut.of(s) for s in rows]

    return await run_once(session, principal=principal, key=key, payload=body, handler=handler)


@router.get("/statements", response_model=list[StatementOut], summary="All statements, newest first")
async def list_statements(
    principal: Readers,
    session: ReadSession,
    merchant_id: IntId | None = None,
    status_: str | None = Query(None, alias="status", pattern="^(open|settled)$"),
    before_id: IntId | None = None,
    limit: int = Query(50, ge=1, le=100),
) -> list[StatementOut]:
    rows = await settlement.list_statements(
        session, merchant_id=merchant_id, status=status_, before_id=before_id, limit=limit
    )
    return [StatementOut.of(s) for s in rows]


@router.get(
    "/statements/{statement_id}",
    response_model=StatementOut,
    responses=ERRORS,
    summary="One statement, with a from-scratch recomputation check",
)
async def get_statement(statement_id: IntId, principal: Readers, session: ReadSession) -> StatementOut:
    s = await settlement.get_statement(session, settlement_id=statement_id)
    return StatementOut.of(s, await settlement.matches_ledger(session, s))


@router.post(
    "/statements/{statement_id}/settle",
    response_model=StatementOut,
    responses=ERRORS,
    summary="Mark a statement settled (it never changes afterwards)",
)
async def settle(
    statement_id: IntId, request: Request, principal: Operators, session: WriteSession, key: str = IdempotencyKey
):
    async def handler() -> StatementOut:
        s = await settlement.mark_settled(session, settlement_id=statement_id)
        await _audit(session, principal, request, "alliance.statement.settle", "statement", statement_id)
        return StatementOut.of(s)

    return await run_once(session, principal=principal, key=key, payload={"settle": statement_id}, handler=handler)
