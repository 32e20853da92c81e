"""Revenue retention (seed 000 累积出账收入保有率) against a hand-computed stock."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from shared.reports import revenue
from tests.fixtures.factories import create_branch, create_staff
from tests.fixtures.factories_backoffice import bulk_customers, usage_rows
from tests.fixtures.factories_manager import assign

BASE, JAN, FEB = date(2033, 12, 1), date(2034, 1, 1), date(2034, 2, 1)


async def build(db) -> tuple[int, int, int]:
    """Branch A: a 10000 → 10000 → 11000, b 5000 → 5000 → 5000; branch B: c 5000 → churned 01-15;
    d joins in January (not stock: no base-month bill). Manager m serves a and c."""
    a_branch, b_branch = await create_branch(db), await create_branch(db)
    a, b = await bulk_customers(db, 2, branch_id=a_branch.id)
    c, d = await bulk_customers(db, 2, branch_id=b_branch.id)
    for customer, bills in (
        (a, (10000, 10000, 11000)),
        (b, (5000, 5000, 5000)),
        (c, (5000, None, None)),
        (d, (None, 7000, 7000)),
    ):
        await usage_rows(
            db, customer, {m: bill for m, bill in zip((BASE, JAN, FEB), bills, strict=False) if bill is not None}
        )
    await db.execute(
        text("UPDATE customers SET status = 'churned', churned_on = DATE '2034-01-15' WHERE id = :c"), {"c": c}
    )
    manager = await create_staff(db, role="account_manager", org_unit_id=a_branch.id)
    await assign(db, a, manager.id)
    await assign(db, c, manager.id)
    return a_branch.id, b_branch.id, manager.id


async def test_total_branch_manager_and_month(db) -> None:
    a_branch, b_branch, manager = await build(db)
    [total] = await revenue.revenue_retention(db, base=BASE, last=FEB, branch_id=None)
    # stock a, b, c billed 20000 in December; January + February: 15000 + 16000 → 31000 / (2 × 20000)
    # (other tests' customers have no December 2033 bill, so the stock is exactly these three)
    assert (total["stock"], total["base_revenue_fen"], total["period_revenue_fen"]) == (3, 20000, 31000)
    assert total["revenue_retention"] == 0.775 and total["customer_retention"] == round(2 / 3, 4)
    assert (total["arpu_base_fen"], total["arpu_period_fen"]) == (round(20000 / 3, 2), round(31000 / 6, 2))
    assert (total["base_month"], total["first_month"], total["last_month"]) == ("2033-12", "2034-01", "2034-02")
    by_branch = {r["group"]: r for r in await revenue.revenue_retention(db, group_by="branch", base=BASE, last=FEB)}
    assert by_branch[str(a_branch)]["revenue_retention"] == round(31000 / 30000, 4)  # up-spending: above 100 %
    assert by_branch[str(b_branch)]["revenue_retention"] == 0.0 and by_branch[str(b_branch)]["stock"] == 1
    by_manager = {r["group"]: r for r in await revenue.revenue_retention(db, group_by="manager", base=BASE, last=FEB)}
    assert by_manager[str(manager)]["revenue_retention"] == round(21000 / 30000, 4)  # a 21000 of 2 × 15000
    months = await revenue.revenue_retention(db, group_by="month", base=BASE, last=FEB)
    assert [(m["group"], m["revenue_retention"], m["month_revenue_retention"], m["retained"]) for m in months] == [
        ("2034-01", 0.75, 0.75, 2),
        ("2034-02", 0.775, 0.8, 2),
    ]
    scoped = await revenue.revenue_retention(db, base=BASE, last=FEB, branch_id=b_branch)
    assert scoped[0]["stock"] == 1
