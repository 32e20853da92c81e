"""Values that pass the request schema but not the database or the calendar: a clean 4xx, no change.

Each case here was a 500 found by the OpenAPI fuzz (tests/services/test_openapi_fuzz.py): ids past
a column's integer range, a NUL byte in text, explicit nulls in PATCH bodies, year 0.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from shared.models import Ad, Product, Strategy, TagDefinition
from tests.fixtures.factories import create_branch, create_customer, create_staff
from tests.fixtures.factories_customer import create_ad
from tests.services.customer_app.conftest import ERROR_KEYS, assert_error


async def test_ids_past_the_column_range_are_422(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        c = await create_customer(s)
        admin = await create_staff(s, role="admin")
    customer, admin_h = tokens.customer(c.id), tokens.admin(admin.id)
    for big in (2**31, 2**63):
        body = assert_error(await clients["customer_client"].get(f"/v1/hunts/{big}", headers=customer), 422)
        assert body["error"] in {"invalid_value", "validation_error"}
        assert_error(await clients["admin_client"].get(f"/v1/products/{big}", headers=admin_h), 422)
        assert_error(await clients["admin_client"].get(f"/v1/campaigns/{big}/members", headers=admin_h), 422)


async def test_year_zero_months_and_occasions_are_422(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        branch = await create_branch(s)
        manager = await create_staff(s, org_unit_id=branch.id)
        c = await create_customer(s, branch_id=branch.id, birthday=date(1990, 5, 1))
    assert_error(
        await clients["customer_client"].get("/v1/account/usage?month=0000-01", headers=tokens.customer(c.id)), 422
    )
    assert_error(await clients["customer_client"].get("/v1/account/bills/0000-12", headers=tokens.customer(c.id)), 422)
    r = await clients["manager_client"].post(
        f"/v1/greetings/birthday:0000/customers/{c.id}/done",
        headers={**tokens.manager(manager.id, org_unit_id=branch.id), "Idempotency-Key": "greet-year-zero"},
        json={"channel": "sms", "notes": ""},
    )
    assert r.status_code in (404, 422), r.text  # out of this manager's book (404) or a bad occasion (422)
    assert set(r.json()) == ERROR_KEYS


async def test_nul_bytes_in_text_are_422_and_nothing_is_written(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        before = await s.scalar(select(func.count()).select_from(Product))
    r = await clients["admin_client"].post(
        "/v1/products",
        headers=tokens.admin(admin.id),
        json={"code": "NUL1", "name": "data\x00pack", "kind": "data_pack", "monthly_fee_fen": 100},
    )
    assert assert_error(r, 422)["error"] in {"invalid_value", "validation_error"}
    async with sm() as s:
        assert await s.scalar(select(func.count()).select_from(Product)) == before


async def test_patch_refuses_null_for_required_fields(clients, tokens, sm) -> None:  # type: ignore[no-untyped-def]
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        strategy = Strategy(name="keep", condition={"all": []}, channel="sms", script="hello", priority=5, active=True)
        s.add(strategy)
        ad = await create_ad(s)
        tag = TagDefinition(code="nul_check", name="keep", family="basic", rule={"all": []}, active=True)
        s.add(tag)
    h = tokens.admin(admin.id)
    for field in ("active", "name", "script"):
        body = assert_error(
            await clients["admin_client"].patch(
                f"/v1/strategies/{strategy.id}", headers=h, json={field: None, "priority": 7}
            ),
            422,
        )
        assert body["context"]["fields"] == [field]
    for field in ("status", "title", "ends_at"):
        assert_error(await clients["admin_client"].patch(f"/v1/ads/{ad.id}", headers=h, json={field: None}), 422)
    for field in ("active", "name", "rule"):
        assert_error(await clients["admin_client"].patch(f"/v1/tags/{tag.id}", headers=h, json={field: None}), 422)
    async with sm() as s:
        kept = await s.get(Strategy, strategy.id)
        assert (kept.active, kept.name, kept.priority) == (True, "keep", 5)
        assert (await s.get(Ad, ad.id)).status == "approved"
        assert (await s.get(TagDefinition, tag.id)).active is True
    # clearable fields still clear
    r = await clients["admin_client"].patch(f"/v1/ads/{ad.id}", headers=h, json={"body": None})
    assert r.status_code == 200 and r.json()["body"] is None
