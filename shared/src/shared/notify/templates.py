"""Every SMS text in one place: Chinese templates with the operator's signature put first.

The defaults live with the other programme settings (`sms_templates`), so the back office can
override each template (PUT /v1/programme/rules/sms_templates). A template may use only the
placeholders of its default, and must use the ones a message is pointless without (the OTP's
`{code}`, the campaign's `{text}`): `check` refuses anything else, and a stored template that
fails it (written around the API) is replaced by its default when sent, never sent half-filled.
The signature (TENURE_SMS_SIGNATURE, e.g. 【某某移动】) is not part of a template, so no override
can drop it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.i18n import fill, placeholders
from shared.logging import get_logger
from shared.programme import settings as programme_settings
from shared.settings import get_settings

log = get_logger(__name__)

OTP = "otp"  # {code} {minutes}
CAMPAIGN_OFFER = "campaign_offer"  # {text}: the strategy's script or the campaign's name
REFUSAL_CONFIRMATION = "refusal_confirmation"  # {cool_off_days}
ORDER_CONFIRMATION = "order_confirmation"  # {product}
REBATE_INSTALMENT = "rebate_instalment"  # {product} {amount_yuan} {instalment} {instalments}

DEFAULTS: dict[str, str] = programme_settings.DEFAULTS[programme_settings.SMS_TEMPLATES]
REQUIRED: dict[str, frozenset[str]] = {OTP: frozenset({"code"}), CAMPAIGN_OFFER: frozenset({"text"})}
MAX_TEMPLATE_CHARS = 300
MAX_SMS_CHARS = 500  # what the gateway takes (a long SMS of about 7 segments)


def check(key: str, template: str) -> None:
    """Raises ValueError (saying what is wrong) unless `template` may stand for template `key`."""
    if key not in DEFAULTS:
        raise ValueError(f"unknown SMS template {key!r}")
    if not template.strip() or len(template) > MAX_TEMPLATE_CHARS:
        raise ValueError(f"an SMS template has 1 to {MAX_TEMPLATE_CHARS} characters")
    used = placeholders(template)  # ValueError for anything but {name}
    if unknown := used - placeholders(DEFAULTS[key]):
        raise ValueError(f"unknown placeholders {sorted(unknown)}; {key} may use {sorted(placeholders(DEFAULTS[key]))}")
    if missing := REQUIRED.get(key, frozenset()) - used:
        raise ValueError(f"{key} must contain {sorted(missing)}")


def compose(template: str, values: dict[str, Any], *, signature: str) -> str:
    """The SMS as sent: signature first, then the filled template, at most MAX_SMS_CHARS."""
    return (signature + fill(template, values))[:MAX_SMS_CHARS]


async def render(session: AsyncSession, key: str, *, signature: str | None = None, **values: Any) -> str:
    """The text of SMS `key` with `values`: the operator's template if valid, else the default;
    `signature` defaults to TENURE_SMS_SIGNATURE. One read of programme_settings."""
    stored = (await programme_settings.get(session, programme_settings.SMS_TEMPLATES)).get(key)
    template = DEFAULTS[key]
    if isinstance(stored, str):
        try:
            check(key, stored)
            template = stored
        except ValueError as exc:
            log.warning("sms.template_invalid", template=key, error=str(exc))
    return compose(template, values, signature=get_settings().sms_signature if signature is None else signature)
