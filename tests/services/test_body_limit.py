"""Request bodies are limited in the ASGI layer (TENURE_MAX_BODY_BYTES, 1 MiB by default).

A declared Content-Length over the limit is a 413 before the app runs (nothing read, nothing
written); a chunked body is counted while it streams and cut at the limit. The back-office CSV
import keeps its own, larger limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select

from shared.models import LedgerTxn, OtpCode
from shared.points import service as points_service
from shared.settings import Settings
from tests.fixtures.factories import create_customer, create_staff
from tests.fixtures.factories_customer import give_points
from tests.services.customer_app.conftest import assert_error, idem

PHONE = "13800000777"


def padded_json(size: int, **fields: object) -> bytes:
    """A JSON object with the given fields, padded with whitespace to `size` bytes (bodies refuse
    unknown fields, so the padding must be valid JSON that adds none)."""
    head = ",".join(f'"{k}":{v!r}'.replace("'", '"') for k, v in fields.items())
    body = f"{{{head}".encode()
    return body + b" " * (size - len(body) - 1) + b"}"


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def test_content_length_over_the_limit_is_413_before_anything_runs(
    customer_client, sm, settings: Settings
) -> None:  # type: ignore[no-untyped-def]
    limit = settings.max_body_bytes
    async with sm.begin() as s:
        await create_customer(s, phone=PHONE)  # a registered phone: a read body would send a code
    body = padded_json(50 * 1024 * 1024, phone=PHONE)
    r = await customer_client.post("/v1/auth/otp", content=body, headers={"content-type": "application/json"})
    problem = assert_error(r, 413)
    assert problem["error"] == "payload_too_large" and problem["context"] == {"limit_bytes": limit}
    assert "x-request-id" in r.headers  # rendered inside the observing middleware
    async with sm() as s:
        assert await s.scalar(select(func.count()).select_from(OtpCode)) == 0
    # just under the limit the same route works
    ok = await customer_client.post(
        "/v1/auth/otp", content=padded_json(limit, phone=PHONE), headers={"content-type": "application/json"}
    )
    assert ok.status_code == 202, ok.text
    async with sm() as s:
        assert await s.scalar(select(func.count()).select_from(OtpCode)) == 1


async def test_padded_ledger_write_spends_nothing(customer_client, tokens, sm, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        c = await create_customer(s)
        await give_points(s, c.id, 500)
    h = {**idem(tokens.customer(c.id)), "content-type": "application/json"}
    async with sm() as s:
        txns = await s.scalar(select(func.count()).select_from(LedgerTxn))
    big = padded_json(settings.max_body_bytes + 1, points=100)
    for content in (big, chunks(big)):  # declared length, then chunked (no Content-Length)
        r = await customer_client.post("/v1/points/redeem-airtime", content=content, headers=h)
        assert assert_error(r, 413)["error"] == "payload_too_large"
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 500
        assert await s.scalar(select(func.count()).select_from(LedgerTxn)) == txns
    # a chunked body under the limit is read as usual
    r = await customer_client.post(
        "/v1/points/redeem-airtime", content=chunks(padded_json(4096, points=100)), headers=h
    )
    assert r.status_code == 200, r.text
    async with sm() as s:
        assert await points_service.balance(s, c.id) == 400


async def test_the_csv_import_keeps_its_own_larger_limit(admin_client, tokens, sm, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
    header = b"subscriber_id,msisdn,name,id_number,gender,birth_date,join_date,status,churn_date,plan_code,branch_code,contract_end,do_not_disturb,email,address\n"
    rows = b"".join(b"%d,not-a-phone,x,,M,,,active,,,,,0,,\n" % (900_000 + i) for i in range(40_000))
    csv = header + rows
    assert len(csv) > settings.max_body_bytes
    r = await admin_client.post(
        "/v1/imports?kind=subscribers&wait=true",
        headers=tokens.admin(admin.id),
        files={"file": ("big.csv", csv, "text/csv")},
    )
    assert r.status_code == 200, r.text[:300]
    assert r.json()["rows_total"] == 40_000
