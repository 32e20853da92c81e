"""Retention strategies: a condition on segment / sub-segment / stage / tier / risk / four-high /
cluster / tags mapped to a product from the library, a channel and a script, with a priority
(lower first). Conditions are checked by the same whitelist compiler as tags."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import text

from admin_app.auth import Analysts, Strategists
from admin_app.routers._backoffice import Strict, record
from shared.engine import strategies as strategy_service
from shared.engine.rules import FROM_CLAUSE, Compiler
from shared.errors import NotFound, Unprocessable
from shared.touches.service import CHANNELS
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import Count, IntId, RefId
from shared.web.patch import patch_changes

router = APIRouter(prefix="/v1", tags=["strategies"])
ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "Not found"}, 422: {"description": "Invalid condition"}}
CHANNEL_PATTERN = "^(" + "|".join(CHANNELS) + ")$"


class StrategyIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    condition: dict[str, Any]
    product_id: RefId | None = None
    channel: str = Field(pattern=CHANNEL_PATTERN)
    script: str = Field(min_length=1, max_length=2000)
    priority: Annotated[Count, Field(le=10_000)] = 100
    active: bool = True


class StrategyPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    condition: dict[str, Any] | None = None
    product_id: RefId | None = None
    channel: str | None = Field(None, pattern=CHANNEL_PATTERN)
    script: str | None = Field(None, min_length=1, max_length=2000)
    priority: Annotated[Count, Field(le=10_000)] | None = None
    active: bool | None = None


class StrategyOut(BaseModel):
    id: int
    name: str
    condition: dict[str, Any]
    product_id: int | None
    channel: str
    script: str
    priority: int
    active: bool
    open_recommendations: int


class MatchOut(BaseModel):
    customers: int


_SELECT = (
    "SELECT s.id, s.name, s.condition, s.product_id, s.channel, s.script, s.priority, s.active, "
    "(SELECT count(*) FROM recommendations r WHERE r.strategy_id = s.id AND r.status = 'open') AS open_recommendations "
    "FROM strategies s"
)


async def _check(session, body: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    if body.get("condition") is not None:
        await strategy_service.validate_condition(session, body["condition"])
    if body.get("product_id") is not None and not await session.scalar(
        text("SELECT EXISTS (SELECT 1 FROM products WHERE id = :p)"), {"p": body["product_id"]}
    ):
        raise Unprocessable("unknown product", product_id=body["product_id"])


async def _one(session, strategy_id: int) -> StrategyOut:  # type: ignore[no-untyped-def]
    row = (await session.execute(text(_SELECT + " WHERE s.id = :id"), {"id": strategy_id})).first()
    if row is None:
        raise NotFound("strategy not found", strategy_id=strategy_id)
    return StrategyOut(**dict(row._mapping))


@router.get("/strategies", response_model=list[StrategyOut], summary="Strategies in matching order")
async def list_strategies(principal: Analysts, session: WriteSession, active: bool | None = None) -> list[StrategyOut]:
    await strategy_service.seed_defaults(session)
    rows = await session.execute(
        text(_SELECT + " WHERE CAST(:a AS boolean) IS NULL OR s.active = :a ORDER BY s.priority, s.id"), {"a": active}
    )
    return [StrategyOut(**dict(r._mapping)) for r in rows]


@router.get("/strategies/{strategy_id}", response_model=StrategyOut, responses=ERRORS, summary="One strategy")
async def get_strategy(strategy_id: IntId, principal: Analysts, session: ReadSession) -> StrategyOut:
    return await _one(session, strategy_id)


@router.post(
    "/strategies",
    status_code=status.HTTP_201_CREATED,
    response_model=StrategyOut,
    responses=ERRORS,
    summary="Add a strategy",
)
async def create_strategy(
    body: StrategyIn, principal: Strategists, request: Request, session: WriteSession
) -> StrategyOut:
    data = body.model_dump()
    await _check(session, data)
    new_id = await session.scalar(
        text(
            "INSERT INTO strategies (name, condition, product_id, channel, script, priority, active) "
            "VALUES (:name, CAST(:condition AS jsonb), :product_id, :channel, :script, :priority, :active) RETURNING id"
        ),
        {**data, "condition": json.dumps(data["condition"], ensure_ascii=False)},
    )
    await record(session, request, principal, "strategy.create", "strategy", new_id, data)
    return await _one(session, new_id)


@router.patch(
    "/strategies/{strategy_id}", response_model=StrategyOut, responses=ERRORS, summary="Edit or (de)activate a strategy"
)
async def update_strategy(
    strategy_id: IntId, body: StrategyPatch, principal: Strategists, request: Request, session: WriteSession
) -> StrategyOut:
    await _one(session, strategy_id)
    changes = patch_changes(body, clearable={"product_id"})
    await _check(session, changes)
    sets, params = [], {"id": strategy_id}
    for key, value in changes.items():
        if key == "condition":
            sets.append("condition = CAST(:condition AS jsonb)")
            params["condition"] = json.dumps(value, ensure_ascii=False)
        else:
            sets.append(f"{key} = :{key}")  # keys come from the pydantic model, never from the client
            params[key] = value
    if sets:
        await session.execute(text(f"UPDATE strategies SET {', '.join(sets)} WHERE id = :id"), params)
        await record(session, request, principal, "strategy.update", "strategy", strategy_id, changes)
    return await _one(session, strategy_id)


@router.post(
    "/strategies/preview",
    response_model=MatchOut,
    responses=ERRORS,
    summary="How many customers a condition matches now (before priorities and contact pressure)",
)
async def preview(body: dict[str, Any], principal: Analysts, session: ReadSession) -> MatchOut:
    compiler = Compiler("pv")
    predicate = strategy_service.compile_condition(compiler, body, await strategy_service.tag_codes(session))
    n = await session.scalar(text(f"SELECT count(*) FROM {FROM_CLAUSE} WHERE {predicate}"), compiler.params)
    return MatchOut(customers=int(n or 0))
