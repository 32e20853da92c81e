"""Sign-in flows: customer SMS one-time code, staff password, merchant client credentials, refresh.

Every failure is counted in Postgres-backed windows (see ratelimit) so limits hold across workers.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ratelimit
from shared.auth.passwords import verify_secret
from shared.auth.principals import CUSTOMER_ROLE, MERCHANT_ROLE, Audience, Principal, audience_for_staff_role
from shared.auth.tokens import issue_access_token
from shared.db.transactions import own_transaction
from shared.errors import BadRequest, Forbidden, TooManyRequests, Unauthorized
from shared.logging import get_logger
from shared.masking import phone_digest
from shared.models import Customer, Merchant, MerchantClient, OtpCode, RefreshToken, StaffUser
from shared.notify.sms import SmsSender
from shared.settings import Settings

log = get_logger(__name__)
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str | None
    expires_in: int
    token_type: str = "Bearer"


def _otp_hash(settings: Settings, phone: str, code: str) -> str:
    """HMAC keyed by the server secret: a 6-digit code is too small a space for a plain hash."""
    return hmac.new(settings.jwt_secret.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


async def request_otp(
    sm: async_sessionmaker[AsyncSession], settings: Settings, sender: SmsSender, *, phone: str
) -> None:
    """Send a 6-digit code. Unknown numbers get the same answer (no enumeration) but no SMS."""
    digest = phone_digest(phone)
    sent = await ratelimit.hit(sm, f"otp.send:{digest}", window_s=DAY_S)
    if sent > settings.otp_per_phone_per_day:
        raise TooManyRequests("too many codes requested for this number today", retry_after_s=3600)
    async with own_transaction(sm) as s:
        known = await s.scalar(
            select(Customer.id).where(Customer.phone == phone, Customer.status != "churned")
        )
        if known is None:
            log.info("otp.unknown_number", phone=phone)
            return
        code = f"{secrets.randbelow(1_000_000):06d}"
        await s.execute(
            update(OtpCode)
            .where(OtpCode.phone_digest == digest, OtpCode.consumed_at.is_(None))
            .values(consumed_at=func.now())
        )
        s.add(
            OtpCode(
                phone_digest=digest,
                code_hash=_otp_hash(settings, phone, code),
                expires_at=_now() + timedelta(seconds=settings.otp_ttl_s),
            )
        )
    await sender.send(phone, f"[Tenure] Your sign-in code is {code}. It expires in 5 minutes.")


async def verify_otp(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, phone: str, code: str
) -> Principal:
    """One live code per number; 5 wrong tries kill it; failures also count per number per window."""
    digest = phone_digest(phone)
    if await ratelimit.current(sm, f"otp.fail:{digest}", window_s=settings.login_window_s) >= settings.login_max_failures:
        raise TooManyRequests("too many wrong codes; request a new one later")
    async with own_transaction(sm) as s:
        otp = await s.scalar(
            select(OtpCode)
            .where(OtpCode.phone_digest == digest, OtpCode.consumed_at.is_(None), OtpCode.expires_at > func.now())
            .order_by(OtpCode.id.desc())
            .limit(1)
            .with_for_update()
        )
        ok = otp is not None and hmac.compare_digest(otp.code_hash, _otp_hash(settings, phone, code))
        if otp is not None:
            if ok:
                otp.consumed_at = _now()
            else:
                otp.attempts += 1
                if otp.attempts >= settings.otp_max_attempts:
                    otp.consumed_at = _now()
        customer_id = (
            await s.scalar(select(Customer.id).where(Customer.phone == phone)) if ok else None
        )
    if not ok or customer_id is None:
        await ratelimit.hit(sm, f"otp.fail:{digest}", window_s=settings.login_window_s)
        raise Unauthorized("wrong or expired code")
    return Principal(kind="customer", id=customer_id, role=CUSTOMER_ROLE, audience=Audience.CUSTOMER)


async def staff_login(
    sm: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    username: str,
    password: str,
    audience: Audience,
) -> Principal:
    bucket = f"login.fail:{username.lower()}"
    if await ratelimit.current(sm, bucket, window_s=settings.login_window_s) >= settings.login_max_failures:
        raise TooManyRequests("too many failed sign-ins; try again later")
    async with sm() as s:
        user = await s.scalar(select(StaffUser).where(StaffUser.username == username))
    ok, new_hash = await verify_secret(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        await ratelimit.hit(sm, bucket, window_s=settings.login_window_s)
        raise Unauthorized("wrong username or password")
    if new_hash:
        async with own_transaction(sm) as s:
            await s.execute(update(StaffUser).where(StaffUser.id == user.id).values(password_hash=new_hash))
    aud = audience_for_staff_role(user.role, audience)
    return Principal(kind="staff", id=user.id, role=user.role, audience=aud, org_unit_id=user.org_unit_id)


async def merchant_client_login(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, client_id: str, client_secret: str
) -> Principal:
    """OAuth2 client credentials (RFC 6749 §4.4). Only approved merchants with a live client."""
    bucket = f"client.fail:{client_id[:64]}"
    if await ratelimit.current(sm, bucket, window_s=settings.login_window_s) >= settings.login_max_failures:
        raise TooManyRequests("too many failed client authentications")
    async with sm() as s:
        row = (
            await s.execute(
                select(MerchantClient, Merchant.status)
                .join(Merchant, Merchant.id == MerchantClient.merchant_id)
                .where(MerchantClient.client_id == client_id)
            )
        ).first()
    client, status = (row[0], row[1]) if row else (None, None)
    ok, _ = await verify_secret(client.secret_hash if client else None, client_secret)
    if not ok or client is None or not client.active:
        await ratelimit.hit(sm, bucket, window_s=settings.login_window_s)
        raise Unauthorized("invalid client credentials", error="invalid_client")
    if status != "approved":
        raise Forbidden("merchant is not approved", status=status)
    return Principal(kind="merchant", id=client.merchant_id, role=MERCHANT_ROLE, audience=Audience.ALLIANCE)


async def issue_pair(session: AsyncSession, settings: Settings, principal: Principal, *, family_id: str | None = None) -> TokenPair:
    jti = secrets.token_urlsafe(24)
    session.add(
        RefreshToken(
            jti=jti,
            family_id=family_id or secrets.token_urlsafe(12),
            subject=principal.subject,
            audience=principal.audience,
            claims={"role": principal.role, "org": principal.org_unit_id},
            expires_at=_now() + timedelta(seconds=settings.refresh_ttl_s),
        )
    )
    await session.flush()
    return TokenPair(issue_access_token(settings, principal), jti, settings.access_ttl_s)


async def refresh(sm: async_sessionmaker[AsyncSession], settings: Settings, *, token: str, audience: Audience) -> TokenPair:
    """Rotate a refresh token. Reusing a rotated token revokes its whole family (theft signal)."""
    if not token or len(token) > 100:
        raise BadRequest("refresh_token is required")
    async with own_transaction(sm) as s:
        row = await s.scalar(select(RefreshToken).where(RefreshToken.jti == token).with_for_update())
        if row is None or row.audience != audience or row.revoked_at is not None or row.expires_at <= _now():
            raise Unauthorized("invalid refresh token")
        if row.used_at is not None:
            await s.execute(
                update(RefreshToken).where(RefreshToken.family_id == row.family_id).values(revoked_at=func.now())
            )
            reused = True
        else:
            reused = False
            row.used_at = _now()
            kind, _, raw = row.subject.partition(":")
            principal = Principal(
                kind=kind, id=int(raw), role=row.claims["role"], audience=audience, org_unit_id=row.claims.get("org")
            )
            pair = await issue_pair(s, settings, principal, family_id=row.family_id)
    if reused:
        log.warning("auth.refresh_reuse", subject=row.subject)
        raise Unauthorized("refresh token reuse detected; please sign in again")
    return pair


async def purge_expired(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM otp_codes WHERE expires_at < now() - interval '1 day'"))
    await session.execute(text("DELETE FROM rate_limit_buckets WHERE window_start < now() - interval '2 days'"))
