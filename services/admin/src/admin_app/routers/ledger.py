"""The ledger from the back office: verification, points jobs (accrual, expiry), adjustments."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from admin_app.auth import AdminOnly, Auditors
from shared import clock
from shared.audit import service as audit
from shared.business.account import customer as find_customer
from shared.db.transactions import own_transaction
from shared.errors import NotFound, Unprocessable
from shared.ledger import service as ledger
from shared.points import jobs as points_jobs
from shared.points import service as points_service
from shared.web.deps import ReadSession, SessionMaker, WriteSession, client_ip
from shared.web.idempotency import IdempotencyKey, run_once
from shared.web.params import MONTH, BigRefId, first_of_month

router = APIRouter(prefix="/v1", tags=["ledger"])


class VerifyOut(BaseModel):
    ok: bool
    unbalanced_txns: list[dict[str, Any]]
    unbalanced_assets: list[dict[str, Any]]
    balance_mismatch: list[dict[str, Any]]
    negative_balances: list[dict[str, Any]]
    asset_mismatch: list[dict[str, Any]]
    txns_without_entries: list[dict[str, Any]]
    assets: list[dict[str, Any]]


class AccrualIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=MONTH, examples=["2026-10"])


class ExpiryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    as_of: date | None = Field(None, description=f"local day; defaults to today ({clock.TZ_NAME})")


class AdjustIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: BigRefId
    delta: Annotated[StrictInt, Field(ge=-1_000_000, le=1_000_000)]
    reason: str = Field(min_length=3, max_length=200)


@router.get(
    "/ledger/verify", response_model=VerifyOut, summary="Check every ledger invariant; ok=false lists discrepancies"
)
async def verify(principal: Auditors, session: ReadSession) -> dict:
    return await ledger.verify(session)


@router.post(
    "/ledger/points/accrual-runs", summary="Run the monthly points accrual (idempotent per customer per month)"
)
async def run_accrual(body: AccrualIn, request: Request, principal: AdminOnly, sm: SessionMaker) -> dict:
    result = await points_jobs.run_accrual(sm, month=first_of_month(body.month))
    # the job committed chunk by chunk; its audit row follows on its own
    async with own_transaction(sm) as s:
        await audit.record(
            s,
            principal=principal,
            action="points.accrual.run",
            object_kind="job",
            object_id=body.month,
            detail=result,
            ip=client_ip(request),
        )
    return result


@router.post("/ledger/points/expiry-runs", summary="Expire points past their published expiry (idempotent)")
async def run_expiry(body: ExpiryIn, request: Request, principal: AdminOnly, sm: SessionMaker) -> dict:
    day = body.as_of or clock.today()
    result = await points_jobs.run_expiry(sm, today=day)
    # the job committed chunk by chunk; its audit row follows on its own
    async with own_transaction(sm) as s:
        await audit.record(
            s,
            principal=principal,
            action="points.expiry.run",
            object_kind="job",
            object_id=day.isoformat(),
            detail=result,
            ip=client_ip(request),
        )
    return result


@router.post(
    "/ledger/points/adjustments",
    status_code=201,
    responses={402: {}, 404: {}},
    summary="Correct a customer's points with a compensating entry",
)
async def adjust(
    body: AdjustIn, request: Request, principal: AdminOnly, session: WriteSession, key: str = IdempotencyKey
) -> Response:
    async def handler() -> dict:
        if body.delta == 0:
            raise Unprocessable("delta may not be zero")
        if await find_customer(session, body.customer_id) is None:
            raise NotFound("customer not found")
        moved = await points_service.adjust(
            session,
            customer_id=body.customer_id,
            delta=body.delta,
            key=f"points_adjust:{principal.subject}:{key}",
            reason=body.reason,
            actor=principal.subject,
            today=clock.today(),
        )
        await audit.record(
            session,
            principal=principal,
            action="points.adjust",
            object_kind="customer",
            object_id=body.customer_id,
            detail={"delta": body.delta, "reason": body.reason, "txn_id": moved.txn_id},
            ip=client_ip(request),
        )
        return {"txn_id": moved.txn_id, "customer_id": body.customer_id, "delta": body.delta, "balance": moved.balance}

    return await run_once(
        session, principal=principal, key=key, payload=body.model_dump(), handler=handler, status_code=201
    )
