"""Tag definitions (four families) for the back office: list with customer counts, add, edit,
disable, and preview how many customers a rule matches. Rules are JSON trees checked by the
whitelist compiler (shared.engine.rules): unknown fields or operators are a 422, values are
always bound parameters. Computation happens in the nightly run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from admin_app.auth import Analysts, Strategists
from admin_app.routers._backoffice import Strict, record
from shared.engine import rules as rule_compiler
from shared.engine import tags as tag_service
from shared.web.deps import ReadSession, WriteSession
from shared.web.params import IntId
from shared.web.patch import patch_changes

router = APIRouter(prefix="/v1", tags=["tags"])
Family = Literal["basic", "stability", "preference", "channel"]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found"},
    409: {"description": "Code taken"},
    422: {"description": "Invalid rule"},
}


class TagIn(Strict):
    code: str = Field(min_length=2, max_length=60, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=120)
    family: Family
    description: str | None = Field(None, max_length=1000)
    rule: dict[str, Any]


class TagPatch(Strict):
    name: str | None = Field(None, min_length=1, max_length=120)
    family: Family | None = None
    description: str | None = Field(None, max_length=1000)
    rule: dict[str, Any] | None = None
    active: bool | None = None


class TagOut(BaseModel):
    id: int
    code: str
    name: str
    family: str
    description: str | None
    rule: dict[str, Any]
    builtin: bool
    active: bool
    version: int
    customers: int = Field(description="customers holding the tag after the last nightly run")
    counted_at: datetime | None = Field(description="when that count was taken (null: not yet)")


class PreviewIn(Strict):
    rule: dict[str, Any]


class PreviewOut(BaseModel):
    customers: int


class FieldOut(BaseModel):
    field: str
    type: str
    operators: list[str]


@router.get("/tags", response_model=list[TagOut], summary="Tag definitions with how many customers hold each")
async def list_tags(
    principal: Analysts,
    session: ReadSession,
    family: Family | None = None,
    active: bool | None = None,
    limit: int = Query(200, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=100_000),
) -> list[TagOut]:
    return [
        TagOut(**t)
        for t in await tag_service.list_tags(session, family=family, active=active, limit=limit, offset=offset)
    ]


@router.get("/tags/fields", response_model=list[FieldOut], summary="Fields and operators a tag rule may use")
async def rule_fields(principal: Analysts) -> list[FieldOut]:
    return [
        FieldOut(field=name, type=kind, operators=sorted(rule_compiler.OPS[kind]))
        for name, (_, kind) in sorted(rule_compiler.FIELDS.items())
    ]


@router.get("/tags/{tag_id}", response_model=TagOut, responses=ERRORS, summary="One tag definition")
async def get_tag(tag_id: IntId, principal: Analysts, session: ReadSession) -> TagOut:
    return TagOut(**await tag_service.get_tag(session, tag_id))


@router.post("/tags", status_code=status.HTTP_201_CREATED, response_model=TagOut, responses=ERRORS, summary="Add a tag")
async def create_tag(body: TagIn, principal: Strategists, request: Request, session: WriteSession) -> TagOut:
    tag = await tag_service.create_tag(
        session, code=body.code, name=body.name, family=body.family, rule=body.rule, description=body.description
    )
    await record(session, request, principal, "tag.create", "tag_definition", tag["id"], body.model_dump())
    return TagOut(**tag)


@router.patch(
    "/tags/{tag_id}",
    response_model=TagOut,
    responses=ERRORS,
    summary="Edit a tag (name, family, description, rule) or enable/disable it",
)
async def update_tag(
    tag_id: IntId, body: TagPatch, principal: Strategists, request: Request, session: WriteSession
) -> TagOut:
    changes = patch_changes(body, clearable={"description"})
    tag = await tag_service.update_tag(session, tag_id, changes=changes)
    await record(session, request, principal, "tag.update", "tag_definition", tag_id, changes)
    return TagOut(**tag)


@router.post("/tags/{tag_id}/disable", response_model=TagOut, responses=ERRORS, summary="Disable a tag")
async def disable_tag(tag_id: IntId, principal: Strategists, request: Request, session: WriteSession) -> TagOut:
    tag = await tag_service.update_tag(session, tag_id, changes={"active": False})
    await record(session, request, principal, "tag.disable", "tag_definition", tag_id)
    return TagOut(**tag)


@router.post(
    "/tags/preview",
    response_model=PreviewOut,
    responses=ERRORS,
    summary="How many customers a rule would match now (nothing is saved)",
)
async def preview(body: PreviewIn, principal: Analysts, session: ReadSession) -> PreviewOut:
    return PreviewOut(customers=await tag_service.preview_count(session, body.rule))


@router.get(
    "/tags/{tag_id}/preview",
    response_model=PreviewOut,
    responses=ERRORS,
    summary="How many customers a stored tag's rule matches now",
)
async def preview_tag(tag_id: IntId, principal: Analysts, session: ReadSession) -> PreviewOut:
    tag = await tag_service.get_tag(session, tag_id)
    return PreviewOut(customers=await tag_service.preview_count(session, tag["rule"]))
