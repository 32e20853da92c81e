"""Masking of personal data (phone numbers, national ID numbers, names) for responses and logs."""

from __future__ import annotations

import hashlib
import re

_PHONE_RE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_JWT_RE = re.compile(r"eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")


def mask_phone(phone: str | None) -> str | None:
    """138****5678: operators show the first three and last four digits."""
    if not phone:
        return phone
    if len(phone) < 7:
        return "*" * len(phone)
    return f"{phone[:3]}****{phone[-4:]}"


def mask_id_number(id_number: str | None) -> str | None:
    if not id_number:
        return id_number
    return f"{id_number[:3]}{'*' * (len(id_number) - 7)}{id_number[-4:]}"


def mask_name(name: str | None) -> str | None:
    """Keep the family name (first character): 张** ."""
    if not name:
        return name
    return name[0] + "*" * max(1, len(name) - 1)


def scrub_text(text: str) -> str:
    """Mask every phone number, national ID and JWT found in free text (used by the log processor)."""
    text = _JWT_RE.sub("<jwt>", text)
    text = _ID_RE.sub(lambda m: m.group(1)[:3] + "*" * 11 + m.group(3), text)
    return _PHONE_RE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)


def phone_digest(phone: str) -> str:
    """Stable non-reversible key for rate-limit buckets and logs."""
    return hashlib.sha256(phone.encode()).hexdigest()[:16]
