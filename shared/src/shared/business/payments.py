"""Top-ups (充值) through a payment-gateway adapter, into the customer's airtime via the ledger.

The gateway is an interface: `DevPaymentGateway` (development) confirms every payment at once; a
real one would confirm later through a signed callback and the same `credit_topup`. A confirmed
payment moves from `airtime:payments` (the clearing account of money received) first to the
customer's arrears account (what is owed, see shared.ledger.airtime), the rest to the airtime
account, in ONE balanced ledger txn keyed `topup:<customer>:<payment ref>` (posted once).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import Conflict
from shared.ledger import service as ledger
from shared.ledger.airtime import airtime_account, airtime_balance_fen, arrears_account, arrears_fen
from shared.models import Asset


class PaymentDeclined(Conflict):
    code = "payment_declined"


@dataclass(frozen=True, slots=True)
class PaymentResult:
    ok: bool
    ref: str
    error: str | None = None


class PaymentGateway(Protocol):
    async def charge(self, *, customer_id: int, amount_fen: int, key: str) -> PaymentResult:
        """Take the payment (idempotent per key); must not raise for a declined payment."""
        ...


class DevPaymentGateway:
    """Development adapter: every payment is confirmed immediately, with a reference from the key."""

    async def charge(self, *, customer_id: int, amount_fen: int, key: str) -> PaymentResult:
        digest = hashlib.sha256(f"{customer_id}:{key}".encode()).hexdigest()[:24]
        return PaymentResult(ok=True, ref=f"dev-{digest}")


_default = DevPaymentGateway()


def default_gateway() -> PaymentGateway:
    return _default


@dataclass(frozen=True, slots=True)
class TopUp:
    payment_ref: str
    amount_fen: int
    to_arrears_fen: int
    to_balance_fen: int
    balance_fen: int


async def credit_topup(session: AsyncSession, *, customer_id: int, amount_fen: int, payment_ref: str) -> TopUp:
    """Credit a confirmed payment: arrears first, then the balance (one txn, once per payment)."""
    account = await airtime_account(session, customer_id)
    owed = min(await arrears_fen(session, customer_id), amount_fen)
    clearing = await ledger.system_account(session, "airtime:payments")
    legs = [ledger.Leg(clearing, Asset.AIRTIME, -amount_fen)]
    if owed:
        legs.append(ledger.Leg(await arrears_account(session, customer_id), Asset.AIRTIME, owed, customer_id))
    if amount_fen - owed:
        legs.append(ledger.Leg(account, Asset.AIRTIME, amount_fen - owed, customer_id))
    await ledger.post(
        session,
        key=f"topup:{customer_id}:{payment_ref}",
        kind="topup",
        legs=legs,
        reference=f"customer:{customer_id}",
        actor=f"customer:{customer_id}",
        memo={"payment_ref": payment_ref, "arrears_fen": owed},
    )
    return TopUp(
        payment_ref=payment_ref,
        amount_fen=amount_fen,
        to_arrears_fen=owed,
        to_balance_fen=amount_fen - owed,
        balance_fen=await airtime_balance_fen(session, customer_id),
    )


async def top_up(
    session: AsyncSession, *, customer_id: int, amount_fen: int, key: str, gateway: PaymentGateway | None = None
) -> TopUp:
    """Charge through the gateway, then credit the airtime (PaymentDeclined 409 when refused)."""
    result = await (gateway or default_gateway()).charge(customer_id=customer_id, amount_fen=amount_fen, key=key)
    if not result.ok:
        raise PaymentDeclined("the payment was declined", error=result.error or "declined")
    return await credit_topup(session, customer_id=customer_id, amount_fen=amount_fen, payment_ref=result.ref)
