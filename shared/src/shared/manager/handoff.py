"""Handing an accepted offer to the customer's account manager when it needs a signature.

A customer may take a pack with one tap in the app or one digit by SMS, but never sign a
contract that way (`business.orders.needs_signature`: contracts and broadband, or a product whose
eligibility says `requires_signature`). Accepting such an offer creates a care task (kind
`signature`) for the manager assigned to the customer — or for the branch (no manager: the
branch head sees it) — carrying the product, the campaign and the script; the manager completes
it with `accepted_offer` and the signed form as `consent_ref`, which places the order. One task
per source (`dedupe_key`), so a repeated acceptance adds nothing.
"""

from __future__ import annotations

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.models import CareTask, Product


async def hand_to_manager(
    session: AsyncSession,
    *,
    customer_id: int,
    product: Product,
    source: str,
    campaign_id: int | None,
    script: str | None = None,
) -> tuple[int, int | None]:
    """The signature task for this acceptance (created once per `source`): (task id, manager id)."""
    manager_id = await session.scalar(
        text("SELECT manager_id FROM manager_assignments WHERE customer_id = :c"), {"c": customer_id}
    )
    key = f"signature:{source}"[:120]
    task_id = await session.scalar(
        insert(CareTask)
        .values(
            customer_id=customer_id,
            manager_id=manager_id,
            kind="signature",
            dedupe_key=key,
            due_on=clock.today(),
            reason=f"客户已接受「{product.name}」，需要当面签约后办理 (customer accepted; needs a signature)"[:300],
            product_id=product.id,
            script=script or product.selling_points,
            campaign_id=campaign_id,
            status="open",
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(CareTask.id)
    )
    if task_id is None:
        task_id, manager_id = (
            await session.execute(select(CareTask.id, CareTask.manager_id).where(CareTask.dedupe_key == key))
        ).one()
    return int(task_id), manager_id
