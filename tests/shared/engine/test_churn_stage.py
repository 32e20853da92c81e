"""The nightly run's churn stage calls the churn package directly: on a database without usage
history the stage is skipped with a note (NoChurnHistory), and nothing is scored."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import clock
from shared.engine.jobs import RunContext
from shared.engine.runner import churn_stage, create_run


async def test_skipped_with_a_note_without_churn_history(sm: async_sessionmaker[AsyncSession]) -> None:
    async with sm.begin() as s:
        assert await s.scalar(text("SELECT count(*) FROM monthly_usage")) == 0
        run_id = await create_run(s, clock.today(), "running")
    ctx = RunContext(sm=sm, run_id=run_id, run_date=clock.today())
    assert await churn_stage(ctx) == 0
    assert str(ctx.notes["churn"]).startswith("skipped: ")
    async with sm() as s:
        assert await s.scalar(text("SELECT count(*) FROM churn_models")) == 0
