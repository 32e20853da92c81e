"""The customer 360: one statement per audience, masking per audience, the back office's typed parts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.manager import customer360, portrait
from tests.fixtures.factories import create_customer, create_staff
from tests.fixtures.factories_manager import assign, profile, task

SEEN = datetime(2026, 11, 3, 9, 30, 15, 250000, tzinfo=UTC)


@contextmanager
def statements(session: AsyncSession) -> Iterator[list[str]]:
    """The SQL statements the session sends while the block runs."""
    seen: list[str] = []
    engine = session.bind.sync_engine  # type: ignore[union-attr]

    def on_execute(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


async def _rich_customer(db: AsyncSession):  # type: ignore[no-untyped-def]
    c = await create_customer(db, name="欧阳娜娜", email="nana@example.com", address="浙江省杭州市西湖区文三路 1 号")
    mgr = await create_staff(db)
    await assign(db, c.id, mgr.id)
    await profile(db, c.id, top_factors=[{"feature": "calls_competitor", "weight": 0.4}], four_high=["tariff"])
    await task(db, c.id, mgr.id)
    await db.execute(
        text(
            "INSERT INTO touches (customer_id, channel, occurred_at, outcome, cost_fen, visible_to_customer, staff_id) "
            "VALUES (:c, 'call', :t, 'refused', 35, false, :s)"
        ),
        {"c": c.id, "t": SEEN, "s": mgr.id},
    )
    await db.execute(
        text(
            "INSERT INTO complaints (customer_id, occurred_at, category, channel, resolved, satisfaction) "
            "VALUES (:c, :t, 'network', 'hotline', false, 2)"
        ),
        {"c": c.id, "t": SEEN},
    )
    await db.execute(
        text(
            "INSERT INTO handsets (customer_id, brand, model, price_band, dual_sim, started_on) "
            "VALUES (:c, 'Huawei', 'Mate 60', 'high', true, DATE '2024-05-01')"
        ),
        {"c": c.id},
    )
    return c, mgr


class TestBackOffice:
    async def test_one_statement_typed_parts_and_masking(self, db) -> None:
        c, mgr = await _rich_customer(db)
        with statements(db) as seen:
            masked = await customer360.backoffice_view(db, c, unmask=False)
        assert len(seen) == 1
        assert masked["name"] == "欧***" and masked["phone"] == f"{c.phone[:3]}****{c.phone[-4:]}"
        assert masked["id_number"] != c.id_number and masked["id_number"].endswith(c.id_number[-4:])
        assert (masked["email"], masked["address"], masked["birthday"]) == ("***@example.com", "浙江省杭州市***", None)
        assert c.phone not in str(masked) and c.id_number not in str(masked)
        assert masked["manager"]["id"] == mgr.id and isinstance(masked["manager"]["since"], datetime)
        assert masked["touches"] == [
            {
                "id": masked["touches"][0]["id"],
                "channel": "call",
                "occurred_at": SEEN,
                "outcome": "refused",
                "staff_id": mgr.id,
                "campaign_id": None,
                "product_id": None,
                "cost_fen": 35,
            }
        ]
        assert masked["complaints"][0]["occurred_at"] == SEEN and masked["complaints"][0]["satisfaction"] == 2
        assert masked["handset"] == {
            "brand": "Huawei",
            "model": "Mate 60",
            "price_band": "high",
            "dual_sim": True,
            "started_on": "2024-05-01",
        }
        assert masked["profile"]["top_factors"][0]["feature"] == "calls_competitor"
        assert masked["profile"]["updated_at"].tzinfo == UTC
        assert [t["manager_id"] for t in masked["tasks"]] == [mgr.id]

    async def test_unmasked_shows_the_record(self, db) -> None:
        c, _ = await _rich_customer(db)
        full = await customer360.backoffice_view(db, c, unmask=True)
        assert {k: full[k] for k in customer360.UNMASKABLE} == {
            "name": c.name,
            "phone": c.phone,
            "id_number": c.id_number,
            "email": c.email,
            "address": c.address,
            "birthday": c.birthday,
        }
        assert full["unmasked"] is True


class TestManager:
    async def test_portrait_is_one_statement_and_never_carries_the_id_number(self, db) -> None:
        c, _ = await _rich_customer(db)
        with statements(db) as seen:
            out = await portrait.build(db, c, today=date(2026, 11, 20))
        assert len(seen) == 1
        assert out["name"] == "欧***" and out["phone"] == f"{c.phone[:3]}****{c.phone[-4:]}"
        for secret in (c.id_number, c.phone, c.email, c.address):
            assert secret not in str(out)
        assert out["contact_history"][0]["outcome"] == "refused" and "cost_fen" not in out["contact_history"][0]
        assert out["contact_pressure"]["touches_this_month"] == 1

    def test_manager_identity_is_name_and_phone_only(self) -> None:
        from shared.models import Customer

        c = Customer(name="张三丰", phone="13812345678", id_number="110101199001011234", email="a@b.c")
        assert customer360.identity(c, audience="manager") == {"name": "张**", "phone": "138****5678"}
