"""The alliance demo seeder is idempotent and gives the documented dev credentials."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.models import MerchantClient, Offer, OperatorPack
from tenure_demo.seeders import alliance as seeder


async def test_seeder_is_idempotent_and_credentials_work(sm, alliance_client) -> None:
    for _ in range(2):
        async with sm.begin() as s:
            await seeder.seed(s)
    async with sm() as s:
        client = await s.scalar(select(MerchantClient).where(MerchantClient.client_id == seeder.DEMO_CLIENT_ID))
        assert client is not None and client.active
        assert (
            await s.scalar(
                select(func.count())
                .select_from(MerchantClient)
                .where(MerchantClient.client_id == seeder.DEMO_CLIENT_ID)
            )
            == 1
        )
        titles = (
            await s.scalars(
                select(Offer.title).where(Offer.merchant_id == client.merchant_id, Offer.status == "approved")
            )
        ).all()
        assert sorted(t for t in titles if t.startswith("Demo:")) == sorted(o["title"] for o in seeder.OFFERS)
        assert (
            await s.scalar(
                select(func.count())
                .select_from(OperatorPack)
                .where(OperatorPack.code.in_([p["code"] for p in seeder.PACKS]))
            )
            == 3
        )
    tok = await alliance_client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": seeder.DEMO_CLIENT_ID,
            "client_secret": seeder.DEMO_CLIENT_SECRET,
        },
    )
    assert tok.status_code == 200, tok.text
    prepaid = await alliance_client.get(
        "/v1/prepaid", headers={"Authorization": f"Bearer {tok.json()['access_token']}"}
    )
    assert prepaid.json()["balance_fen"] == 100_000
