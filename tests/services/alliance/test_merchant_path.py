"""A merchant's whole path over HTTP, the way the README shows it: apply → approval → credentials
→ token → publish → back-office approval → a customer exchanges → the till verifies, redeems,
reverses → statement → settled. Webhooks are signed and checked by a local receiver."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from shared import clock
from shared.alliance import webhooks
from shared.ledger import service as ledger
from shared.models import AuditLog
from tests.fixtures.factories import create_customer, create_staff
from tests.fixtures.factories_alliance import grant
from tests.services.alliance.helpers import error, offer_body, with_key


async def test_merchant_whole_path(alliance_client, admin_client, customer_client, alliance_app, tokens, sm) -> None:
    # the local day the test starts on (read here, not at import: a run may cross local midnight)
    started_on = clock.today().isoformat()
    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        customer = await create_customer(s)
        await grant(s, customer.id, 1000)
    adm = tokens.admin(admin.id, "admin")
    cust = tokens.customer(customer.id)

    # 1. apply (public, idempotent)
    application = {
        "name": "Lakeside noodles",
        "category": "food",
        "contact_name": "Chen",
        "contact_phone": "13912345678",
        "settlement_account": "6222020200112233",
        "stores": [{"name": "Lakeside", "address": "8 Lake Road"}],
    }
    applied = await alliance_client.post(
        "/v1/merchants/apply", json=application, headers={"Idempotency-Key": "apply-lakeside-1"}
    )
    assert applied.status_code == 201, applied.text
    replay = await alliance_client.post(
        "/v1/merchants/apply", json=application, headers={"Idempotency-Key": "apply-lakeside-1"}
    )
    assert replay.content == applied.content and replay.headers["Idempotent-Replayed"] == "true"
    merchant_id = applied.json()["merchant_id"]

    # 2. the back office sees the application and approves it; credentials can't be issued before
    listed = await admin_client.get("/v1/alliance/merchants?status=applied", headers=adm)
    assert merchant_id in [m["id"] for m in listed.json()]
    assert "13912345678" not in listed.text
    error(await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/clients", headers=with_key(adm)), 409)
    ok = await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/approve", headers=with_key(adm))
    assert ok.status_code == 200 and ok.json()["status"] == "approved"

    # 3. credentials: the secret is shown once; a replay of the same request does not show it again
    issue_headers = with_key(adm, "issue-lakeside-1")
    creds = await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/clients", headers=issue_headers)
    assert creds.status_code == 201, creds.text
    client_id, secret = creds.json()["client_id"], creds.json()["client_secret"]
    assert secret and len(secret) >= 40
    again = await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/clients", headers=issue_headers)
    assert again.json() == {"client_id": client_id, "client_secret": None}

    # 4. token (client credentials)
    tok = await alliance_client.post(
        "/v1/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    )
    assert tok.status_code == 200, tok.text
    mer = {"Authorization": f"Bearer {tok.json()['access_token']}"}
    assert (await alliance_client.get("/v1/me", headers=mer)).json()["id"] == merchant_id

    # webhook to a local receiver (no network): signed, checked here
    received: list[dict] = []
    hook = await alliance_client.put(
        "/v1/webhook", json={"url": "https://lakeside.example.com/tenure"}, headers=with_key(mer)
    )
    assert hook.status_code == 200, hook.text
    hook_secret = hook.json()["secret"]

    def receiver(request: httpx.Request) -> httpx.Response:
        body = request.read()
        assert webhooks.verify_signature(hook_secret, request.headers[webhooks.SIGNATURE_HEADER], body)
        received.append(json.loads(body))
        return httpx.Response(200)

    alliance_app.state.webhook_transport = httpx.MockTransport(receiver)
    try:
        # 5. publish → pending; customers can't see it until approved
        pub = await alliance_client.post("/v1/offers", json=offer_body(stock_total=5), headers=with_key(mer))
        assert pub.status_code == 201 and pub.json()["status"] == "pending", pub.text
        offer_id = pub.json()["id"]
        market = await customer_client.get("/v1/coupons/offers", headers=cust)
        assert offer_id not in [o["id"] for o in market.json()]
        error(
            await customer_client.post(f"/v1/coupons/offers/{offer_id}/exchange", json={}, headers=with_key(cust)), 404
        )
        queue = await admin_client.get("/v1/alliance/offers?status=pending", headers=adm)
        assert offer_id in [o["id"] for o in queue.json()]
        assert (await admin_client.post(f"/v1/alliance/offers/{offer_id}/approve", headers=with_key(adm))).json()[
            "status"
        ] == "approved"

        # 6. the customer exchanges 100 points for a coupon
        market = await customer_client.get("/v1/coupons/offers", headers=cust)
        assert offer_id in [o["id"] for o in market.json()]
        bought = await customer_client.post(
            f"/v1/coupons/offers/{offer_id}/exchange", json={"pay_with": "points"}, headers=with_key(cust)
        )
        assert bought.status_code == 201, bought.text
        coupon = bought.json()
        assert (
            coupon["state"] == "issued"
            and coupon["qr_payload"].endswith(coupon["code"])
            and coupon["paid_points"] == 100
        )
        mine = await customer_client.get("/v1/coupons", headers=cust)
        assert [c["id"] for c in mine.json()] == [coupon["id"]]

        # 7. the till verifies (masked phone only) and redeems once
        v = await alliance_client.post("/v1/coupons/verify", json={"code": coupon["qr_payload"]}, headers=mer)
        assert v.status_code == 200, v.text
        assert v.json()["customer_phone_masked"] == f"{customer.phone[:3]}****{customer.phone[-4:]}"
        assert customer.phone not in v.text
        red_headers = with_key(mer, "till-7-0001")
        r1 = await alliance_client.post("/v1/coupons/redeem", json={"code": coupon["code"]}, headers=red_headers)
        assert r1.status_code == 200, r1.text
        assert (
            await alliance_client.post("/v1/coupons/redeem", json={"code": coupon["code"]}, headers=red_headers)
        ).content == r1.content
        second = error(
            await alliance_client.post("/v1/coupons/redeem", json={"code": coupon["code"]}, headers=with_key(mer)), 409
        )
        assert second["error"] == "already_redeemed" and second["context"]["redeemed_at"]
        assert (await customer_client.get(f"/v1/coupons/{coupon['id']}", headers=cust)).json()["state"] == "redeemed"
        assert [e["event"] for e in received] == ["coupon.redeemed"]

        # 8. reverse within the window; the coupon is live again and can be redeemed
        rid = r1.json()["redemption_id"]
        rev = await alliance_client.post(f"/v1/redemptions/{rid}/reverse", headers=with_key(mer))
        assert rev.status_code == 200 and rev.json()["reversed_at"], rev.text
        error(await alliance_client.post(f"/v1/redemptions/{rid}/reverse", headers=with_key(mer)), 409)
        r2 = await alliance_client.post("/v1/coupons/redeem", json={"code": coupon["code"]}, headers=with_key(mer))
        assert r2.status_code == 200, r2.text
        assert len((await alliance_client.get("/v1/redemptions", headers=mer)).json()) == 2

        # 9. statement: generated by the back office, read by the merchant, equal to a recomputation
        gen = await admin_client.post(
            "/v1/alliance/statements/generate",
            json={"period_start": started_on, "period_end": clock.today().isoformat(), "merchant_id": merchant_id},
            headers=with_key(adm),
        )
        assert gen.status_code == 200, gen.text
        statement = gen.json()[0]
        assert statement["lines"]["redemptions"]["count"] == 2 and statement["lines"]["reversals"]["count"] == 1
        assert statement["operator_owes_fen"] == 1500
        own = await alliance_client.get("/v1/statements", headers=mer)
        assert [s["id"] for s in own.json()] == [statement["id"]]
        detail = await admin_client.get(f"/v1/alliance/statements/{statement['id']}", headers=adm)
        assert detail.json()["matches_ledger"] is True
        settled = await admin_client.post(f"/v1/alliance/statements/{statement['id']}/settle", headers=with_key(adm))
        assert settled.json()["status"] == "settled"
        assert {"coupon.redeemed", "coupon.redemption_reversed"} <= {e["event"] for e in received}
    finally:
        del alliance_app.state.webhook_transport

    # 10. rotation and revocation
    rot = await admin_client.post(
        f"/v1/alliance/merchants/{merchant_id}/clients/{client_id}/rotate", headers=with_key(adm)
    )
    new_secret = rot.json()["client_secret"]
    assert new_secret and new_secret != secret
    form = {"grant_type": "client_credentials", "client_id": client_id}
    error(await alliance_client.post("/v1/oauth/token", data={**form, "client_secret": secret}), 401)
    assert (
        await alliance_client.post("/v1/oauth/token", data={**form, "client_secret": new_secret})
    ).status_code == 200
    await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/clients/{client_id}/revoke", headers=with_key(adm))
    error(await alliance_client.post("/v1/oauth/token", data={**form, "client_secret": new_secret}), 401)

    # 11. suspension stops the till at once: the token it still holds is refused
    assert (await admin_client.post(f"/v1/alliance/merchants/{merchant_id}/suspend", headers=with_key(adm))).json()[
        "status"
    ] == "suspended"
    error(await alliance_client.post("/v1/coupons/redeem", json={"code": coupon["code"]}, headers=with_key(mer)), 401)

    async with sm() as s:
        actions = set((await s.scalars(select(AuditLog.action).where(AuditLog.actor == f"staff:{admin.id}"))).all())
        assert {
            "alliance.merchant.approve",
            "alliance.client.issue",
            "alliance.offer.approve",
            "alliance.statements.generate",
            "alliance.statement.settle",
            "alliance.client.rotate",
            "alliance.client.revoke",
            "alliance.merchant.suspend",
        } <= actions
        assert (await ledger.verify(s))["ok"]
        assert (
            await s.scalar(
                select(func.count())
                .select_from(AuditLog)
                .where(AuditLog.action == "alliance.client.issue", AuditLog.object_id == str(merchant_id))
            )
            == 1
        )


async def test_operator_resources_over_http(alliance_client, admin_client, tokens, sm) -> None:
    from tests.fixtures.factories import create_merchant

    async with sm.begin() as s:
        admin = await create_staff(s, role="admin")
        operator = await create_staff(s, role="operator")
        m = await create_merchant(s)
        customer = await create_customer(s)
    adm, op, mer = tokens.admin(admin.id, "admin"), tokens.admin(operator.id, "operator"), tokens.merchant(m.id)
    # money and packs are AdminOnly
    error(
        await admin_client.post(
            "/v1/alliance/budgets", json={"asset": "data_mb", "amount": 5000}, headers=with_key(op)
        ),
        403,
    )
    budget = await admin_client.post(
        "/v1/alliance/budgets", json={"asset": "data_mb", "amount": 5000}, headers=with_key(adm)
    )
    assert budget.status_code == 200 and budget.json()["data_mb"] >= 5000
    pack = await admin_client.post(
        "/v1/alliance/packs",
        json={"code": f"D-{m.id}", "name": "1GB", "asset": "data_mb", "amount": 1024, "price_fen": 500},
        headers=with_key(adm),
    )
    assert pack.status_code == 201, pack.text
    pack_id = pack.json()["id"]
    gift_body = {"phone": customer.phone}
    error(
        await alliance_client.post(f"/v1/packs/{pack_id}/gifts", json=gift_body, headers=with_key(mer)), 402
    )  # no prepaid yet
    top = await admin_client.post(
        f"/v1/alliance/merchants/{m.id}/topups", json={"amount_fen": 1200}, headers=with_key(adm)
    )
    assert top.json() == {"balance_fen": 1200}
    gk = with_key(mer)
    gift = await alliance_client.post(f"/v1/packs/{pack_id}/gifts", json=gift_body, headers=gk)
    assert gift.status_code == 201, gift.text
    assert gift.json()["phone_masked"] != customer.phone
    assert (
        await alliance_client.post(f"/v1/packs/{pack_id}/gifts", json=gift_body, headers=gk)
    ).content == gift.content
    assert (await alliance_client.get("/v1/prepaid", headers=mer)).json() == {"balance_fen": 700}
    async with sm() as s:
        assert await ledger.balance_of(s, asset="data_mb", kind="customer", owner_id=customer.id) == 1024
    error(
        await alliance_client.post(f"/v1/packs/{pack_id}/gifts", json={"phone": "13000000009"}, headers=with_key(mer)),
        404,
    )
