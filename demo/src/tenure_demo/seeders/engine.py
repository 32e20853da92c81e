"""Demo data for the retention engine: the tag catalogue, tier rules, holiday calendar and default
strategies, then one nightly run over the demo city (profiles, tags, four-high flags,
recommendations, manager assignments and care tasks for the apps to show).

Idempotent: every seed is insert-if-missing and the run itself is idempotent.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.engine import care, strategies, tags, tiers
from shared.engine.runner import run_nightly
from shared.logging import get_logger

ORDER = 80
log = get_logger(__name__)


async def seed(session: AsyncSession) -> None:

    engine = session.bind
    # Probe on a separate connection: this session stays unused (no open transaction) while the
    # run — which commits per chunk in its own connections — may take minutes.
    async with engine.connect() as conn:  # type: ignore[union-attr]
        has_customers = await conn.scalar(text("SELECT EXISTS (SELECT 1 FROM customers)"))
    if not has_customers:
        # Nothing to compute yet: store the configuration only.
        await tiers.seed_default_rules(session)
        await tags.seed_catalogue(session)
        await care.seed_holidays(session)
        await strategies.seed_defaults(session)
        return
    # The run seeds the same configuration in its own committed transactions and commits per
    # chunk, so it must not wait on uncommitted rows of this session: nothing is written here.
    run_id = await run_nightly(engine)  # type: ignore[arg-type]
    log.info("demo.engine.run", run_id=run_id)
