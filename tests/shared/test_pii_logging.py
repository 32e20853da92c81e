"""Logs never carry a full phone number, national ID or token (RELIABILITY C12)."""

from __future__ import annotations

import io
import logging

from shared.logging import configure_logging, get_logger
from shared.masking import mask_id_number, mask_phone, scrub_text
from tests.fixtures.factories import create_customer


def test_scrub_text_masks_phone_id_and_jwt() -> None:
    text = "call 13912345678 id 110101199001011234 tok eyJhbGciOi.eyJzdWIiOiJj.c2lnbmF0dXJl"
    out = scrub_text(text)
    assert "13912345678" not in out and "139****5678" in out
    assert "110101199001011234" not in out and "1234" in out
    assert "eyJhbGciOi" not in out
    assert mask_phone("13912345678") == "139****5678"
    assert mask_id_number("110101199001011234") == "110***********1234"


async def test_sign_in_flow_logs_no_full_phone(customer_client, customer_app, sm) -> None:
    async with sm.begin() as s:
        c = await create_customer(s)
    buf = io.StringIO()
    configure_logging("customer-app", stream=buf)
    try:
        await customer_client.post("/v1/auth/otp", json={"phone": c.phone})
        get_logger("test").info("free text", note=f"customer phone {c.phone}", id_number=c.id_number)
        logging.getLogger("some.lib").warning("stdlib record with %s", c.phone)
    finally:
        configure_logging("customer-app")
    captured = buf.getvalue()
    assert mask_phone(c.phone) in captured  # the events were logged...
    assert c.phone not in captured  # ...but never the full number
    assert c.id_number not in captured
