"""Alliance refusals. Code refusals are deliberately uniform: see `CouponNotRedeemable`."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, NotFound, Unprocessable

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


class FreeOffer(Unprocessable):
    """Neither points nor airtime: anyone could take the whole stock for nothing."""

    code = "offer_free"


class SettlementAboveFaceValue(Unprocessable):
    """The operator would pay the merchant more per redemption than the coupon is worth."""

    code = "settlement_above_face_value"


class OfferValueTooHigh(Unprocessable):
    code = "offer_value_too_high"


class OfferExposureTooHigh(Unprocessable):
    """settlement × stock: the most the operator can owe for one offer."""

    code = "offer_exposure_too_high"


__all__ = [
    "NOT_REDEEMABLE",
    "AlreadyRedeemed",
    "CouponNotRedeemable",
    "FreeOffer",
    "InvalidTransition",
    "LimitReached",
    "MerchantInactive",
    "NotFound",
    "OfferExposureTooHigh",
    "OfferValueTooHigh",
    "SettlementAboveFaceValue",
    "SoldOut",
]
