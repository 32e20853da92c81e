"""`shared.db.binary_rows`: fixed-width columns read through binary COPY equal what the driver's
rows give, and anything that breaks the fixed layout (a NULL, a text column) is left to the row
path instead of being misread."""

from __future__ import annotations

import numpy as np
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import binary_rows, native

_NUMBERS = """
SELECT g::bigint AS id, (g % 3 = 0) AS flag, (g * 7)::int AS small, (g % 5)::smallint AS tiny,
       CASE WHEN g % 4 = 0 THEN 'NaN'::float8 ELSE g / 3.0::float8 END AS x,
       (-g * 1e300)::float8 AS big
FROM generate_series($1::int, $2::int) g ORDER BY g
"""


async def test_columns_equal_the_rows(engine: AsyncEngine) -> None:
    async with native.pooled(engine) as driver:
        columns = await binary_rows.fetch_columns(driver, _NUMBERS, [-5, 5000])
        rows = await driver.fetch(_NUMBERS, -5, 5000)
    assert columns is not None and len(columns) == 6
    for i, column in enumerate(columns):
        expected = np.array([r[i] for r in rows], dtype=column.dtype)
        assert column.dtype.isnative
        assert np.array_equal(column, expected, equal_nan=column.dtype.kind == "f"), i
    assert columns[1].dtype == np.bool_ and columns[1].sum() == sum(r["flag"] for r in rows) > 0


async def test_no_rows_give_empty_columns(engine: AsyncEngine) -> None:
    async with native.pooled(engine) as driver:
        columns = await binary_rows.fetch_columns(driver, _NUMBERS, [10, 1])
    assert columns is not None and [len(c) for c in columns] == [0] * 6


async def test_a_null_or_a_text_column_is_left_to_the_row_path(engine: AsyncEngine) -> None:
    async with native.pooled(engine) as driver:
        with_null = await binary_rows.fetch_columns(
            driver,
            "SELECT g::bigint, CASE WHEN g = 500 THEN NULL ELSE g END::float8 FROM generate_series(1, 1000) g",
            [],
        )
        with_text = await binary_rows.fetch_columns(
            driver, "SELECT g::bigint, g::text FROM generate_series(1, 10) g", []
        )
    assert with_null is None and with_text is None
