"""Sign-in endpoints, built per audience so each service exposes only its own flow.

Attempt limits are keyed by the caller's address, `request.client.host`: behind a reverse proxy
that is the proxy unless uvicorn runs with `--proxy-headers --forwarded-allow-ips=<proxy>`, which
makes it the address the proxy puts in X-Forwarded-For (and only trusts that header from there).
"""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Form, Header, Request, status
from pydantic import BaseModel, Field

from shared.auth import service as auth_service
from shared.auth.principals import Audience, Principal
from shared.auth.tokens import issue_access_token
from shared.db.transactions import own_transaction
from shared.errors import BadRequest, Unauthorized
from shared.web.deps import AppSettings, SessionMaker, client_ip

PHONE_PATTERN = r"^1[3-9]\d{9}$"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str | None = None


class OtpRequest(BaseModel):
    phone: str = Field(pattern=PHONE_PATTERN, examples=["13800138000"])


class OtpLogin(BaseModel):
    phone: str = Field(pattern=PHONE_PATTERN)
    code: str = Field(pattern=r"^\d{6}$")


class PasswordLogin(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=10, max_length=100)


def _source(request: Request) -> str:
    """The calling address that per-address limits count against."""
    return client_ip(request) or "unknown"


def _pair_out(pair: auth_service.TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token)


async def _issue(sm: SessionMaker, settings: AppSettings, principal: Principal) -> TokenOut:
    async with own_transaction(sm) as s:
        return _pair_out(await auth_service.issue_pair(s, settings, principal))


def _refresh_route(router: APIRouter, audience: Audience) -> None:
    @router.post("/v1/auth/refresh", response_model=TokenOut, summary="Rotate a refresh token")
    async def refresh(body: RefreshIn, sm: SessionMaker, settings: AppSettings) -> TokenOut:
        return _pair_out(await auth_service.refresh(sm, settings, token=body.refresh_token, audience=audience))


def customer_auth_router() -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/v1/auth/otp", status_code=status.HTTP_202_ACCEPTED, summary="Send a one-time code by SMS")
    async def send_otp(body: OtpRequest, request: Request, sm: SessionMaker, settings: AppSettings) -> dict[str, str]:
        await auth_service.request_otp(
            sm, settings, request.app.state.sms_sender, phone=body.phone, source=_source(request)
        )
        return {"status": "sent_if_registered"}

    @router.post("/v1/auth/login", response_model=TokenOut, summary="Sign in with the SMS code")
    async def login(body: OtpLogin, request: Request, sm: SessionMaker, settings: AppSettings) -> TokenOut:
        principal = await auth_service.verify_otp(
            sm, settings, phone=body.phone, code=body.code, source=_source(request)
        )
        return await _issue(sm, settings, principal)

    _refresh_route(router, Audience.CUSTOMER)
    return router


def staff_auth_router(audience: Audience) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/v1/auth/login", response_model=TokenOut, summary="Staff sign-in with password")
    async def login(body: PasswordLogin, request: Request, sm: SessionMaker, settings: AppSettings) -> TokenOut:
        principal = await auth_service.staff_login(
            sm, settings, username=body.username, password=body.password, audience=audience, source=_source(request)
        )
        return await _issue(sm, settings, principal)

    _refresh_route(router, audience)
    return router


def merchant_token_router() -> APIRouter:
    """OAuth2 token endpoint, client-credentials grant only (RFC 6749 §4.4): no refresh token."""
    router = APIRouter(tags=["auth"])

    @router.post(
        "/v1/oauth/token",
        response_model=TokenOut,
        response_model_exclude_none=True,
        summary="OAuth2 client credentials → access token scoped to the merchant",
    )
    async def token(
        request: Request,
        sm: SessionMaker,
        settings: AppSettings,
        grant_type: Annotated[str, Form(max_length=40)],
        client_id: Annotated[str | None, Form(max_length=64)] = None,
        client_secret: Annotated[str | None, Form(max_length=200)] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> TokenOut:
        if grant_type != "client_credentials":
            raise BadRequest("unsupported grant_type", error="unsupported_grant_type")
        if authorization and authorization.lower().startswith("basic "):
            try:
                raw = base64.b64decode(authorization[6:]).decode()
                client_id, _, client_secret = raw.partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise Unauthorized("malformed basic credentials", error="invalid_client") from exc
        if not client_id or not client_secret:
            raise Unauthorized("client authentication required", error="invalid_client")
        principal = await auth_service.merchant_client_login(
            sm, settings, client_id=client_id, client_secret=client_secret, source=_source(request)
        )
        return TokenOut(access_token=issue_access_token(settings, principal), expires_in=settings.access_ttl_s)

    return router
