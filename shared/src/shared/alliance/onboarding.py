"""Merchant onboarding: application with stores, back-office decisions, OAuth2 client credentials.

Status machine (one guarded UPDATE per transition, so two concurrent decisions cannot both apply):
    applied → approved | rejected;  approved → suspended | ended;  suspended → approved | ended.
Client secrets are random (256 bits), shown once, stored only as argon2id hashes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance.errors import InvalidTransition, MerchantInactive
from shared.auth.passwords import hash_secret_async
from shared.errors import Conflict, NotFound
from shared.models import Merchant, MerchantClient, MerchantStore, Offer

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "approved": ("applied", "suspended"),
    "rejected": ("applied",),
    "suspended": ("approved",),
    "ended": ("approved", "suspended"),
}


@dataclass(frozen=True, slots=True)
class StoreIn:
    name: str
    address: str


@dataclass(frozen=True, slots=True)
class IssuedClient:
    client_id: str
    client_secret: str  # plaintext, returned to the caller once and never stored


async def apply(
    session: AsyncSession,
    *,
    name: str,
    category: str,
    contact_name: str,
    contact_phone: str,
    settlement_account: str,
    stores: list[StoreIn],
) -> Merchant:
    """Record an application (status `applied`) with its stores."""
    merchant = Merchant(
        name=name,
        category=category,
        contact_name=contact_name,
        contact_phone=contact_phone,
        settlement_account=settlement_account,
        status="applied",
    )
    session.add(merchant)
    await session.flush()
    session.add_all(MerchantStore(merchant_id=merchant.id, name=s.name, address=s.address) for s in stores)
    await session.flush()
    return merchant


async def get(session: AsyncSession, merchant_id: int) -> Merchant:
    merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant not found", merchant_id=merchant_id)
    return merchant


async def stores_of(session: AsyncSession, merchant_id: int) -> list[MerchantStore]:
    return list(
        (
            await session.scalars(
                select(MerchantStore).where(MerchantStore.merchant_id == merchant_id).order_by(MerchantStore.id)
            )
        ).all()
    )


async def ensure_active(session: AsyncSession, merchant_id: int) -> Merchant:
    """The merchant must still be approved (the auth dependency already refuses tokens issued before
    a suspension; this guards the row inside the business transaction)."""
    merchant = await session.scalar(
        select(Merchant).where(Merchant.id == merchant_id).execution_options(populate_existing=True)
    )
    if merchant is None or merchant.status != "approved":
        raise MerchantInactive("merchant is not active", status=merchant.status if merchant else None)
    return merchant


async def transition(session: AsyncSession, *, merchant_id: int, to: str) -> Merchant:
    """Move a merchant to `to` if its current status allows it (guarded UPDATE).

    Repeating the transition the merchant is already in is a no-op (idempotent retries).
    Raises NotFound, InvalidTransition.
    """
    if to not in TRANSITIONS:
        raise InvalidTransition("unknown status", to=to)
    values: dict[str, object] = {"status": to}
    if to == "approved":
        values["approved_at"] = func.coalesce(Merchant.approved_at, func.now())
    else:  # no longer approved: its live access tokens are refused from commit on
        values["token_version"] = Merchant.token_version + 1
    merchant_id_done = await session.scalar(
        update(Merchant)
        .where(Merchant.id == merchant_id, Merchant.status.in_(TRANSITIONS[to]))
        .values(**values)
        .returning(Merchant.id)
    )
    merchant = await get(session, merchant_id)
    await session.refresh(merchant)
    if merchant_id_done is None and merchant.status != to:
        raise InvalidTransition("cannot move a merchant from {status} to {to}", status=merchant.status, to=to)
    if to == "ended" and merchant_id_done is not None:
        # an ended merchant's offers close for good (suspension only hides them: see offers.visible)
        await session.execute(
            update(Offer)
            .where(Offer.merchant_id == merchant_id, Offer.status.in_(("pending", "approved")))
            .values(status="ended")
        )
    return merchant


def _new_client_id() -> str:
    return f"mc_{secrets.token_hex(10)}"


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


async def issue_client(
    session: AsyncSession, *, merchant_id: int, client_id: str | None = None, secret: str | None = None
) -> IssuedClient:
    """Create a live client for an approved merchant; `client_id`/`secret` only for dev seeding.

    A merchant may hold several live clients, which is how a rotation without downtime works
    (issue a new one, switch the till, revoke the old one). Raises NotFound, Conflict.
    """
    merchant = await get(session, merchant_id)
    if merchant.status != "approved":
        raise Conflict("credentials are issued to approved merchants only", status=merchant.status)
    cid = client_id or _new_client_id()
    plain = secret or _new_secret()
    session.add(
        MerchantClient(merchant_id=merchant_id, client_id=cid, secret_hash=await hash_secret_async(plain), active=True)
    )
    await session.flush()
    return IssuedClient(cid, plain)


async def _client(session: AsyncSession, merchant_id: int, client_id: str) -> MerchantClient:
    client = await session.scalar(
        select(MerchantClient)
        .where(MerchantClient.client_id == client_id, MerchantClient.merchant_id == merchant_id)
        .with_for_update()
    )
    if client is None:
        raise NotFound("client not found", client_id=client_id)
    return client


async def rotate_client(session: AsyncSession, *, merchant_id: int, client_id: str) -> IssuedClient:
    """Replace the secret of a live client; the old secret stops working at commit."""
    client = await _client(session, merchant_id, client_id)
    if not client.active:
        raise Conflict("client is revoked", client_id=client_id)
    plain = _new_secret()
    client.secret_hash = await hash_secret_async(plain)
    await session.flush()
    return IssuedClient(client.client_id, plain)


async def revoke_client(session: AsyncSession, *, merchant_id: int, client_id: str) -> MerchantClient:
    """Revoke a client (idempotent): the token endpoint refuses it from commit on."""
    client = await _client(session, merchant_id, client_id)
    if client.active:
        client.active = False
        client.revoked_at = datetime.now(UTC)
        await session.flush()
    return client


async def clients_of(session: AsyncSession, merchant_id: int) -> list[MerchantClient]:
    return list(
        (
            await session.scalars(
                select(MerchantClient).where(MerchantClient.merchant_id == merchant_id).order_by(MerchantClient.id)
            )
        ).all()
    )


async def ensure_store(session: AsyncSession, *, merchant_id: int, store_id: int | None) -> None:
    """A till may name one of its own stores; another merchant's store id is 'not found'."""
    if store_id is None:
        return
    found = await session.scalar(
        select(MerchantStore.id).where(MerchantStore.id == store_id, MerchantStore.merchant_id == merchant_id)
    )
    if found is None:
        raise NotFound("store not found", store_id=store_id)
