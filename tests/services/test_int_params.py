"""Integer path and query parameters are range-checked at the schema boundary (issue 18).

A number past the column's range used to reach asyncpg, which refused to encode it after the
statement was half sent and left the pooled connection mid-protocol. Now every integer parameter of
the four services carries bounds within bigint, and an out-of-range value is a 422
`validation_error` answered before any SQL: nothing touches the pool.
"""

from __future__ import annotations

import asyncio
import typing
from typing import Any

import annotated_types
import pytest
from fastapi import FastAPI

from shared.web.params import BIGINT_MAX
from tests.fixtures.alone import alone
from tests.fixtures.db import stray_backends
from tests.fixtures.factories import create_customer, create_merchant, create_staff
from tests.fixtures.routes import api_routes
from tests.services.customer_app.conftest import assert_error

TOO_BIG = "9" * 30
APPS = ("customer_app", "manager_app", "alliance_app", "admin_app")


def _int_leaves(annotation: Any, metadata: list[Any]) -> list[tuple[int | None, int | None]]:
    """(lowest, highest) allowed for every int inside the annotation (through Optional, list, Annotated)."""
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _int_leaves(inner, [*metadata, *extra])
    if annotation is int:
        ge = le = None
        for m in metadata:
            if isinstance(m, annotated_types.Ge) or getattr(m, "ge", None) is not None:
                ge = int(m.ge)  # type: ignore[union-attr]
            if isinstance(m, annotated_types.Le) or getattr(m, "le", None) is not None:
                le = int(m.le)  # type: ignore[union-attr]
        return [(ge, le)]
    args = typing.get_args(annotation)
    if type(None) in args:  # `int | None` with Query(ge=…, le=…): pydantic applies them to the int
        return [leaf for arg in args for leaf in _int_leaves(arg, metadata)]
    return [leaf for arg in args for leaf in _int_leaves(arg, [])]  # list[...]: its own bounds are lengths


def _params(dependant: Any) -> list[tuple[str, Any]]:
    out = [("path", p) for p in dependant.path_params] + [("query", p) for p in dependant.query_params]
    for sub in dependant.dependencies:
        out += _params(sub)
    return out


@pytest.mark.parametrize("app_fixture", APPS)
def test_every_int_path_and_query_parameter_is_bounded(app_fixture: str, request: pytest.FixtureRequest) -> None:
    app: FastAPI = request.getfixturevalue(app_fixture)
    unbounded, seen = [], 0
    for route in api_routes(app):
        for where, field in _params(route.dependant):
            for ge, le in _int_leaves(field.field_info.annotation, list(field.field_info.metadata)):
                seen += 1
                if ge is None or le is None or ge < -BIGINT_MAX - 1 or le > BIGINT_MAX:
                    unbounded.append(f"{sorted(route.methods)} {route.path} {where} {field.alias}: ge={ge} le={le}")
    assert seen > 10  # the walk found the parameters (the customer app alone has more)
    assert unbounded == []


async def test_out_of_range_ids_are_422_before_any_sql(  # type: ignore[no-untyped-def]
    clients, tokens, sm, engine, customer_app, manager_app, alliance_app, admin_app
) -> None:
    """The attacker's requests: 50 each, concurrently; the answer is the schema's, and no backend of the
    services is left in a transaction."""
    async with sm.begin() as s:
        customer = await create_customer(s)
        admin = await create_staff(s, role="admin")
        manager = await create_staff(s)
        merchant = await create_merchant(s)
    cases = [
        ("customer_client", f"/v1/coupons/{TOO_BIG}", tokens.customer(customer.id)),
        ("customer_client", f"/v1/coupons?before_id={TOO_BIG}", tokens.customer(customer.id)),
        ("customer_client", f"/v1/hunts/{2**31}", tokens.customer(customer.id)),
        ("admin_client", f"/v1/audit?before={TOO_BIG}", tokens.admin(admin.id)),
        ("admin_client", f"/v1/models/{'9' * 20}", tokens.admin(admin.id)),
        ("admin_client", f"/v1/products/{2**31}", tokens.admin(admin.id)),
        ("manager_client", f"/v1/customers/{2**63}", tokens.manager(manager.id)),
        ("alliance_client", f"/v1/redemptions?before_id={TOO_BIG}", tokens.merchant(merchant.id)),
    ]
    for client, path, headers in cases:
        async with alone():  # four apps' pools at once: no other xdist worker's connections meanwhile
            responses = await asyncio.gather(*[clients[client].get(path, headers=headers) for _ in range(50)])
        assert await stray_backends(engine) == [], path
        # the staff and merchant token checks open up to 50 connections in one app; closing the idle
        # ones after each burst keeps four apps' pools (and the other worker's) under max_connections
        for app in (customer_app, manager_app, alliance_app, admin_app):
            await app.state.engine.dispose()
        for r in responses:
            assert assert_error(r, 422)["error"] == "validation_error", (path, r.text)
