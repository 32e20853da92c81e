"""Sign-in flows: customer SMS one-time code, staff password, merchant client credentials, refresh.

Every attempt reserves a slot in Postgres-backed sliding windows (see ratelimit) BEFORE the secret
is checked, so a concurrent burst cannot outrun the count, and limits hold across workers; a
success gives its slots back. Secrets are limited per (account, address), per address across
accounts and, with a much higher ceiling, per account from all addresses: an attacker's failures
lock the attacker's address, not the victim. SMS codes need no per-number failure lock: each code
dies after `otp_max_attempts` wrong tries and codes per number per day are capped, which bounds
guessing, and a fresh code always works.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import ratelimit, revocation
from shared.auth.passwords import verify_secret
from shared.auth.principals import CUSTOMER_ROLE, MERCHANT_ROLE, Audience, Principal, audience_for_staff_role
from shared.auth.tokens import issue_access_token
from shared.db.transactions import own_transaction
from shared.errors import BadRequest, Forbidden, Unauthorized
from shared.logging import get_logger
from shared.masking import phone_digest
from shared.models import Customer, Merchant, MerchantClient, OtpCode, RefreshToken, StaffUser
from shared.notify import templates as sms_templates
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
    sm: async_sessionmaker[AsyncSession], settings: Settings, sender: SmsSender, *, phone: str, source: str
) -> None:
    """Send a 6-digit code. Unknown numbers get the same answer (no enumeration) but no SMS.

    Every request counts (known number or not), per number and per calling address."""
    digest = phone_digest(phone)
    await ratelimit.reserve(
        sm,
        [
            ratelimit.Limit(
                ratelimit.key("otp.send", digest),
                settings.otp_per_phone_per_day,
                DAY_S,
                "too many codes requested for this number today",
            ),
            ratelimit.Limit(
                ratelimit.key("otp.send_addr", source),
                settings.otp_send_per_address,
                settings.otp_send_window_s,
                "too many codes requested from this address; try again later",
            ),
        ],
    )
    async with own_transaction(sm) as s:
        known = await s.scalar(select(Customer.id).where(Customer.phone == phone, Customer.status != "churned"))
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
        sms = await sms_templates.render(
            s, sms_templates.OTP, signature=settings.sms_signature, code=code, minutes=max(1, settings.otp_ttl_s // 60)
        )
    await sender.send(phone, sms)


async def verify_otp(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, phone: str, code: str, source: str
) -> Principal:
    """One live code per number; `otp_max_attempts` wrong tries kill it (the row lock serialises
    concurrent tries); wrong codes also count per calling address."""
    digest = phone_digest(phone)
    slots = await ratelimit.reserve(
        sm,
        [
            ratelimit.Limit(
                ratelimit.key("otp.fail_addr", source),
                settings.otp_fail_per_address,
                settings.login_window_s,
                "too many wrong codes from this address; try again later",
            ),
        ],
    )
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
        customer_id = await s.scalar(select(Customer.id).where(Customer.phone == phone)) if ok else None
    if not ok or customer_id is None:
        raise Unauthorized("wrong or expired code")  # the slot stays taken: a failure counts
    await ratelimit.release(sm, slots)
    return Principal(kind="customer", id=customer_id, role=CUSTOMER_ROLE, audience=Audience.CUSTOMER)


def secret_limits(settings: Settings, kind: str, account: str, source: str, detail: str) -> list[ratelimit.Limit]:
    """Failures of one secret-checking flow: per (account, address), per address, per account."""
    w = settings.login_window_s
    return [
        ratelimit.Limit(ratelimit.key(f"{kind}.fail", account, source), settings.login_max_failures, w, detail),
        ratelimit.Limit(ratelimit.key(f"{kind}.fail_addr", source), settings.login_address_max_failures, w, detail),
        ratelimit.Limit(ratelimit.key(f"{kind}.fail_all", account), settings.login_account_max_failures, w, detail),
    ]


async def staff_login(
    sm: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    username: str,
    password: str,
    audience: Audience,
    source: str,
) -> Principal:
    slots = await ratelimit.reserve(
        sm, secret_limits(settings, "login", username.lower(), source, "too many failed sign-ins; try again later")
    )
    async with sm() as s:
        user = await s.scalar(select(StaffUser).where(StaffUser.username == username))
    ok, new_hash = await verify_secret(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        raise Unauthorized("wrong username or password")  # the slots stay taken: a failure counts
    await ratelimit.release(sm, slots)
    if new_hash:
        async with own_transaction(sm) as s:
            await s.execute(update(StaffUser).where(StaffUser.id == user.id).values(password_hash=new_hash))
    aud = audience_for_staff_role(user.role, audience)
    return Principal(
        kind="staff",
        id=user.id,
        role=user.role,
        audience=aud,
        org_unit_id=user.org_unit_id,
        token_version=user.token_version,
    )


async def merchant_client_login(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, client_id: str, client_secret: str, source: str
) -> Principal:
    """OAuth2 client credentials (RFC 6749 §4.4). Only approved merchants with a live client."""
    slots = await ratelimit.reserve(
        sm, secret_limits(settings, "client", client_id[:64], source, "too many failed client authentications")
    )
    async with sm() as s:
        row = (
            await s.execute(
                select(MerchantClient, Merchant.status, Merchant.token_version)
                .join(Merchant, Merchant.id == MerchantClient.merchant_id)
                .where(MerchantClient.client_id == client_id)
            )
        ).first()
    client, status, version = (row[0], row[1], row[2]) if row else (None, None, 0)
    ok, _ = await verify_secret(client.secret_hash if client else None, client_secret)
    if not ok or client is None or not client.active:
        raise Unauthorized("invalid client credentials", error="invalid_client")  # the slots stay taken
    await ratelimit.release(sm, slots)
    if status != "approved":
        raise Forbidden("merchant is not approved", status=status)
    return Principal(
        kind="merchant", id=client.merchant_id, role=MERCHANT_ROLE, audience=Audience.ALLIANCE, token_version=version
    )


async def issue_pair(
    session: AsyncSession, settings: Settings, principal: Principal, *, family_id: str | None = None
) -> TokenPair:
    jti = secrets.token_urlsafe(24)
    session.add(
        RefreshToken(
            jti=jti,
            family_id=family_id or secrets.token_urlsafe(12),
            subject=principal.subject,
            audience=principal.audience,
            claims={"role": principal.role, "org": principal.org_unit_id, "ver": principal.token_version},
            expires_at=_now() + timedelta(seconds=settings.refresh_ttl_s),
        )
    )
    await session.flush()
    return TokenPair(issue_access_token(settings, principal), jti, settings.access_ttl_s)


async def refresh(
    sm: async_sessionmaker[AsyncSession], settings: Settings, *, token: str, audience: Audience
) -> TokenPair:
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
                kind=kind,
                id=int(raw),
                role=row.claims["role"],
                audience=audience,
                org_unit_id=row.claims.get("org"),
                token_version=int(row.claims.get("ver", 0)),
            )
            if not await revocation.is_current(s, principal):
                raise Unauthorized("invalid refresh token")
            pair = await issue_pair(s, settings, principal, family_id=row.family_id)
    if reused:
        log.warning("auth.refresh_reuse", subject=row.subject)
        raise Unauthorized("refresh token reuse detected; please sign in again")
    return pair


async def purge_expired(session: AsyncSession) -> None:
    await session.execute(text("DELETE FROM otp_codes WHERE expires_at < now() - interval '1 day'"))
    await session.execute(text("DELETE FROM rate_limit_buckets WHERE window_start < now() - interval '2 days'"))
