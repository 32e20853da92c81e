"""Alliance refusals. Code refusals are deliberately uniform: see `CouponNotRedeemable`."""
from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound

NOT_REDEEMABLE = "coupon code is not redeemable here"


class CouponNotRedeemable(NotFound):
    """Unknown, expired, voided, used-on-verify and other merchants' codes all look the same.

    The body carries no context, so the refusal is byte-identical whatever the real reason;
    the reason is logged server-side only.
    """

    code = "coupon_not_redeemable"

    def __init__(self) -> None:
        super().__init__(NOT_REDEEMABLE)


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"


class SoldOut(Conflict):
    code = "sold_out"


class LimitReached(Conflict):
    code = "per_customer_limit_reached"


class MerchantInactive(Forbidden):
    code = "merchant_inactive"


class InvalidTransition(Conflict):
    code = "invalid_transition"


__all__ = [
    "NOT_REDEEMABLE",
    "AlreadyRedeemed",
    "CouponNotRedeemable",
    "InvalidTransition",
    "LimitReached",
    "MerchantInactive",
    "NotFound",
    "SoldOut",
]
