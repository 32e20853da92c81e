"""Domain seeders run after the base city is loaded. Each module defines

    ORDER: int                                   # lower runs first
    async def seed(session: AsyncSession) -> None  # idempotent; reads the base city from the DB

and is listed in `tenure_demo.seed.SEEDERS`.
"""
