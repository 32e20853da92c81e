"""The hand-computed September 2026 scenario shared by the KPI and incentive tests.

Manager M (branch X) has customers c1..c4, assigned on 1 August. The comments give each record's
effect; the expected figures are worked out by hand in test_kpis.py / test_incentives.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.clock import TZ
from shared.models import Complaint, Customer, Greeting, ManagerContact, StaffUser, Subscription, Touch
from tests.fixtures import factories_manager as fm
from tests.fixtures.factories import create_branch, create_customer, create_product, create_staff

MONTH = date(2026, 9, 1)


def at(y: int, m: int, d: int, hour: int = 12) -> datetime:
    return datetime(y, m, d, hour, tzinfo=TZ)


@dataclass
class Scenario:
    m: StaffUser
    m2: StaffUser
    head: StaffUser
    other: StaffUser
    branch_id: int
    c: list[Customer]


async def build(s: AsyncSession) -> Scenario:
    branch = await create_branch(s)
    m = await create_staff(s, role="account_manager", org_unit_id=branch.id)
    m2 = await create_staff(s, role="account_manager", org_unit_id=branch.id)  # nothing assigned
    head = await create_staff(s, role="branch_head", org_unit_id=branch.id)
    other = await create_staff(s, role="account_manager", org_unit_id=branch.id)
    c1 = await create_customer(s, branch_id=branch.id, birthday=date(1990, 9, 10))
    c2 = await create_customer(s, branch_id=branch.id, birthday=date(1985, 9, 20))
    c3 = await create_customer(
        s, branch_id=branch.id, birthday=date(1980, 3, 1), status="churned", churned_on=date(2026, 9, 20)
    )
    c4 = await create_customer(s, branch_id=branch.id, birthday=date(1975, 9, 5), do_not_disturb=True)
    cs = [c1, c2, c3, c4]
    for c in cs:
        await fm.assign(s, c.id, m.id, created_at=at(2026, 8, 1))
    await s.execute(
        text(
            "INSERT INTO holidays (day, name, greeting_template) VALUES ('2026-09-25', 'Mid-autumn', '{name}，中秋快乐') ON CONFLICT DO NOTHING"
        )
    )

    # routine care: 4 planned in September (3 done, 1 open), 1 cancelled, 1 in October, 1 of another manager
    for c, status in ((c1, "done"), (c2, "done"), (c3, "done"), (c4, "open")):
        await fm.task(s, c.id, m.id, kind="routine", due_on=date(2026, 9, 15), status=status)
    await fm.task(s, c4.id, m.id, kind="routine", due_on=date(2026, 9, 16), status="cancelled")
    await fm.task(s, c1.id, m.id, kind="routine", due_on=date(2026, 10, 2), status="done")
    await fm.task(s, c1.id, other.id, kind="routine", due_on=date(2026, 9, 3), status="done")

    # greetings: due = 2 birthdays (c1, c2; c4 is DND) + 3 non-DND customers x 1 holiday = 5; done by M = 3
    for c, occ, day, staff in (
        (c1, "birthday:2026", date(2026, 9, 10), m.id),
        (c2, "holiday:2026-09-25", date(2026, 9, 25), m.id),
        (c3, "holiday:2026-09-25", date(2026, 9, 25), m.id),
        (c1, "holiday:2026-09-25", date(2026, 9, 25), head.id),  # by someone else: not M's
    ):
        s.add(Greeting(customer_id=c.id, occasion=occ, occasion_date=day, staff_id=staff, channel="sms"))

    # contacts: benefits explained to c1 (twice) and c2 in September, c3 in August -> 2 distinct
    # satisfaction in September: c1 5, c2 3, c4 complaint without a score (counts 1)
    for c, when, benefits, sat, outcome in (
        (c1, at(2026, 9, 5), True, 5, "reached"),
        (c1, at(2026, 9, 6), True, None, "reached"),
        (c2, at(2026, 9, 7), True, 3, "reached"),
        (c3, at(2026, 8, 20), True, 1, "reached"),
        (c4, at(2026, 9, 8), False, None, "complaint"),
    ):
        s.add(
            ManagerContact(
                customer_id=c.id,
                staff_id=m.id,
                channel="manager_call",
                outcome=outcome,
                benefits_explained=benefits,
                satisfaction=sat,
                created_at=when,
            )
        )
    # a complaint of c3 in September with satisfaction 2
    s.add(Complaint(customer_id=c3.id, occurred_at=at(2026, 9, 12), category="network", satisfaction=2))

    # offers accepted: c1 by M in September (counts), c2 by another staff member (does not)
    s.add(
        Touch(
            customer_id=c1.id,
            channel="manager_call",
            outcome="accepted_offer",
            staff_id=m.id,
            occurred_at=at(2026, 9, 9),
        )
    )
    s.add(
        Touch(
            customer_id=c2.id,
            channel="manager_call",
            outcome="accepted_offer",
            staff_id=other.id,
            occurred_at=at(2026, 9, 9),
        )
    )

    # contracts at 30 September: c1 yes; c2 starts in October; c3 cancelled on 15 September; c4 a data pack
    contract = await create_product(s, kind="contract", code=f"CT-{m.id}")
    pack = await create_product(s, kind="data_pack")
    s.add_all(
        [
            Subscription(customer_id=c1.id, product_id=contract.id, status="active", starts_on=date(2026, 9, 1)),
            Subscription(customer_id=c2.id, product_id=contract.id, status="active", starts_on=date(2026, 10, 1)),
            Subscription(
                customer_id=c3.id,
                product_id=contract.id,
                status="cancelled",
                starts_on=date(2026, 6, 1),
                cancelled_at=at(2026, 9, 15),
            ),
            Subscription(customer_id=c4.id, product_id=pack.id, status="active", starts_on=date(2026, 9, 1)),
        ]
    )

    # bills: c1 Aug 5000 -> Sep 6000 (kept), c2 5000 -> 4000 (not), c3 churned 20 Sep, c4 5000 -> 5000 (kept)
    for c, aug, sep in ((c1, 5000, 6000), (c2, 5000, 4000), (c3, 5000, 5000), (c4, 5000, 5000)):
        await fm.usage(s, c.id, date(2026, 8, 1), bill_fen=aug)
        await fm.usage(s, c.id, date(2026, 9, 1), bill_fen=sep)
    # earlier bills of c1 for the incentive baseline: Jun 4000, Jul 5000 (mean of Jun-Aug = 4666.67)
    await fm.usage(s, c1.id, date(2026, 6, 1), bill_fen=4000)
    await fm.usage(s, c1.id, date(2026, 7, 1), bill_fen=5000)

    # churn tasks (high-risk flags): c1 window (90 d) ends 18 Sep, still in network -> retained;
    # c3 ends 23 Sep but churned 20 Sep -> not; c2 ends 18 Oct -> not this month
    await fm.task(s, c1.id, m.id, kind="churn", due_on=date(2026, 6, 20), status="done")
    await fm.task(s, c3.id, m.id, kind="churn", due_on=date(2026, 6, 25), status="done")
    await fm.task(s, c2.id, m.id, kind="churn", due_on=date(2026, 7, 20), status="open")
    await s.flush()
    return Scenario(m=m, m2=m2, head=head, other=other, branch_id=branch.id, c=cs)
