"""Birthday and holiday greetings: which are due, with the text to use, and marking them done.

An occasion is `birthday:<year>` or `holiday:<YYYY-MM-DD>` (a row of `holidays`). A greeting is
done at most once per customer and occasion (primary key of `greetings`); it is also a touch, so
contact pressure and do-not-disturb apply (do-not-disturb customers are never listed as due).
Holiday texts come from `holidays.greeting_template`, the birthday text from the programme
setting `birthday_greeting` ({"template": ...}); `{salutation}` becomes e.g. 张先生.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    String,
    and_,
    cast,
    column,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
    values,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.auth import scoping
from shared.auth.principals import Principal
from shared.errors import Conflict, NotFound, Unprocessable
from shared.manager import cursor
from shared.manager.contacts import ContactInput, record_contact
from shared.masking import mask_name, mask_phone
from shared.models import CareTask, Customer, Greeting, Holiday
from shared.programme import settings as programme_settings

DEFAULT_BIRTHDAY_TEMPLATE: str = programme_settings.DEFAULTS[programme_settings.BIRTHDAY_GREETING]["template"]
WINDOW_BACK_DAYS = 3
OCCASION_PATTERN = r"^(birthday:\d{4}|holiday:\d{4}-\d{2}-\d{2})$"


def salutation(name: str | None, gender: str | None) -> str:
    surname = (name or "")[:1] or "尊敬的"
    return surname + {"M": "先生", "F": "女士"}.get(gender or "", "客户")


def render(template: str, *, name: str | None, gender: str | None) -> str:
    """Plain substitution (never str.format on stored text)."""
    s = salutation(name, gender)
    return template.replace("{salutation}", s).replace("{name}", s)


def birthday_in(year: int, birthday: date) -> date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)


async def birthday_template(session: AsyncSession) -> str:
    template = (await programme_settings.get(session, programme_settings.BIRTHDAY_GREETING)).get("template")
    return str(template) if template else DEFAULT_BIRTHDAY_TEMPLATE


async def due(
    session: AsyncSession,
    principal: Principal,
    *,
    days_ahead: int = 7,
    after: str | None = None,
    limit: int = 100,
    today: date | None = None,
) -> dict[str, Any]:
    """Greetings due from WINDOW_BACK_DAYS ago to `days_ahead` from today, not yet done, ordered
    by (date, customer, occasion) with a keyset cursor."""
    today = today or clock.today()
    first, last = today - timedelta(days=WINDOW_BACK_DAYS), today + timedelta(days=days_ahead)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    cal = values(
        column("m", Integer), column("d", Integer), column("on_day", Date), column("occasion", String), name="cal"
    ).data([(d.month, d.day, d, f"birthday:{d.year}") for d in days])
    births = scoping.scope_customers(
        select(
            Customer.id.label("customer_id"),
            cal.c.on_day.label("on_day"),
            cal.c.occasion.label("occasion"),
            literal("birthday").label("kind"),
        )
        .select_from(Customer)
        .join(cal, and_(extract("month", Customer.birthday) == cal.c.m, extract("day", Customer.birthday) == cal.c.d)),
        principal,
    )
    hol = scoping.scope_customers(
        select(
            Customer.id.label("customer_id"),
            Holiday.day.label("on_day"),
            ("holiday:" + cast(Holiday.day, String)).label("occasion"),
            literal("holiday").label("kind"),
        )
        .select_from(Customer)
        .join(Holiday, and_(Holiday.day >= first, Holiday.day <= last)),
        principal,
    )
    births = births.where(Customer.do_not_disturb.is_(False), Customer.status == "active")
    hol = hol.where(Customer.do_not_disturb.is_(False), Customer.status == "active")
    u = union_all(births, hol).subquery("due")
    stmt = select(u).where(~exists().where(Greeting.customer_id == u.c.customer_id, Greeting.occasion == u.c.occasion))
    position = cursor.decode(after, "greetings", (cursor.DATE, cursor.INT, cursor.TEXT))
    if position is not None:
        d, cid, occ = position
        stmt = stmt.where(
            or_(
                u.c.on_day > d,
                and_(u.c.on_day == d, u.c.customer_id > cid),
                and_(u.c.on_day == d, u.c.customer_id == cid, u.c.occasion > occ),
            )
        )
    rows = (await session.execute(stmt.order_by(u.c.on_day, u.c.customer_id, u.c.occasion).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if not rows:
        return {"items": [], "next_cursor": None}
    ids = {r.customer_id for r in rows}
    customers = {c.id: c for c in (await session.scalars(select(Customer).where(Customer.id.in_(ids)))).all()}
    holidays = {
        h.day: h
        for h in (await session.scalars(select(Holiday).where(Holiday.day >= first, Holiday.day <= last))).all()
    }
    btpl = await birthday_template(session)
    items = []
    for r in rows:
        c = customers[r.customer_id]
        template = btpl if r.kind == "birthday" else holidays[r.on_day].greeting_template
        items.append(
            {
                "customer_id": c.id,
                "name": mask_name(c.name),
                "phone": mask_phone(c.phone),
                "tier": c.tier,
                "occasion": r.occasion,
                "kind": r.kind,
                "date": r.on_day,
                "holiday_name": holidays[r.on_day].name if r.kind == "holiday" else None,
                "text": render(template, name=c.name, gender=c.gender),
            }
        )
    next_cursor = None
    if more:
        last_row = rows[-1]
        next_cursor = cursor.encode("greetings", [last_row.on_day.isoformat(), last_row.customer_id, last_row.occasion])
    return {"items": items, "next_cursor": next_cursor}


async def _occasion_date(session: AsyncSession, customer: Customer, occasion: str) -> date:
    kind, _, value = occasion.partition(":")
    if kind == "birthday":
        if customer.birthday is None:
            raise NotFound("no birthday on record for this customer")
        year = int(value)
        if year < 1:  # `date` has no year 0
            raise Unprocessable("bad occasion", occasion=occasion)
        return birthday_in(year, customer.birthday)
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable("bad occasion", occasion=occasion) from exc
    if await session.get(Holiday, day) is None:
        raise NotFound("no such holiday", occasion=occasion)
    return day


async def mark_done(
    session: AsyncSession,
    principal: Principal,
    *,
    customer_id: int,
    occasion: str,
    channel: str,
    notes: str | None = None,
    today: date | None = None,
) -> Greeting:
    """Record the greeting (touch + greetings row) and close the matching birthday/holiday task.

    Raises NotFound (customer out of scope, unknown occasion), Unprocessable (occasion more than 30
    days away), Conflict (already done, or refused by contact pressure).
    """
    today = today or clock.today()
    customer = await scoping.get_visible_customer(session, principal, customer_id, for_update=True)
    on_day = await _occasion_date(session, customer, occasion)
    if abs((on_day - today).days) > 30:
        raise Unprocessable("this occasion is not current", occasion=occasion, date=on_day)
    if await session.get(Greeting, (customer.id, occasion)) is not None:
        raise Conflict("greeting already done", customer_id=customer.id, occasion=occasion)
    contact = await record_contact(
        session,
        principal,
        customer=customer,
        data=ContactInput(channel=channel, outcome="reached", notes=notes),
        key=f"greet:{customer.id}:{occasion}",
    )
    greeting = Greeting(
        customer_id=customer.id,
        occasion=occasion,
        occasion_date=on_day,
        staff_id=principal.id,
        channel=channel,
        touch_id=contact.touch_id,
    )
    session.add(greeting)
    kind = occasion.split(":", 1)[0]
    await session.execute(
        update(CareTask)
        .where(
            CareTask.customer_id == customer.id,
            CareTask.kind == kind,
            CareTask.status.in_(("open", "in_progress")),
            CareTask.due_on.between(on_day - timedelta(days=7), on_day + timedelta(days=7)),
        )
        .values(status="done", outcome="reached", completed_at=func.now(), updated_at=func.now())
    )
    await session.flush()
    return greeting


async def mark_greeting_from_task(
    session: AsyncSession, task: CareTask, *, staff_id: int, channel: str, touch_id: int | None
) -> None:
    """A completed birthday/holiday care task counts as the greeting (at most once)."""
    customer = await session.get(Customer, task.customer_id)
    if customer is None:
        return
    if task.kind == "birthday":
        if customer.birthday is None:
            return
        on_day = birthday_in(task.due_on.year, customer.birthday)
        occasion = f"birthday:{on_day.year}"
    else:
        holiday = await session.scalar(
            select(Holiday)
            .where(Holiday.day.between(task.due_on - timedelta(days=7), task.due_on + timedelta(days=7)))
            .order_by(Holiday.day)
            .limit(1)
        )
        if holiday is None:
            return
        on_day, occasion = holiday.day, f"holiday:{holiday.day.isoformat()}"
    await session.execute(
        insert(Greeting)
        .values(
            customer_id=customer.id,
            occasion=occasion,
            occasion_date=on_day,
            staff_id=staff_id,
            channel=channel,
            touch_id=touch_id,
        )
        .on_conflict_do_nothing()
    )
