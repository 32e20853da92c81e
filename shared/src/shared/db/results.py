"""What a data-changing statement reports back, typed.

`AsyncSession.execute` is typed as returning `Result`, but INSERT/UPDATE/DELETE (also written as
`text()`) return a `CursorResult` at run time, which is where `rowcount` lives.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Result


def rowcount(result: Result[Any]) -> int:
    """Rows the statement inserted, updated or deleted (asyncpg always reports it for DML)."""
    return cast(CursorResult[Any], result).rowcount
