"""The set-based posting block: a statement posting N transactions balances, posts each key once
(also under concurrent reruns), and refuses an overdraft with nothing written."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from shared.errors import InsufficientFunds
from shared.ledger import bulk
from shared.ledger import service as ledger
from shared.models import Asset
from tests.fixtures.db import gather_concurrently
from tests.fixtures.factories_customer import create_customers_bulk

# A caller's statement: move :amounts[i] between each customer's points account and :system.
# :direction 'credit' pays the customers from :system, 'debit' takes from them into :system.
_BETWEEN = text(
    bulk.compose("""
WITH given AS (
    SELECT g.customer_id, g.amount, a.id AS account_id
    FROM unnest(CAST(:customers AS bigint[]), CAST(:amounts AS bigint[])) AS g(customer_id, amount)
    JOIN ledger_accounts a ON a.asset = 'points' AND a.kind = 'customer' AND a.owner_id = g.customer_id
), postings AS (
    SELECT CAST(:tag AS text) || ':' || customer_id AS key, 'test_bulk'::text AS kind,
           'customer:' || customer_id AS reference, jsonb_build_object('amount', amount) AS memo,
           'points'::text AS asset,
           CASE WHEN :direction = 'credit' THEN CAST(:system AS bigint) ELSE account_id END AS debit_id,
           CASE WHEN :direction = 'credit' THEN account_id ELSE CAST(:system AS bigint) END AS credit_id,
           amount, customer_id, CAST(:expires_on AS date) AS expires_on
    FROM given
),
{ledger_posting}
SELECT (SELECT count(*) FROM posted_txns) AS txns, (SELECT count(*) FROM posted_legs) AS legs,
       (SELECT count(*) FROM posted_accounts) AS accounts, (SELECT count(*) FROM posted_refused) AS refused
""")
)

# Credits to customers' accounts that may not exist yet (the check-in's shape, for N customers).
_TO_CUSTOMERS = text(
    bulk.compose(
        """
WITH postings AS (
    SELECT CAST(:tag AS text) || ':' || c AS key, 'test_bulk_open'::text AS kind, NULL::text AS reference,
           '{}'::jsonb AS memo, 'points'::text AS asset, CAST(:system AS bigint) AS debit_id,
           NULL::bigint AS credit_id, CAST(:amount AS bigint) AS amount, c AS customer_id, NULL::date AS expires_on
    FROM unnest(CAST(:customers AS bigint[])) AS c
),
{ledger_posting}
SELECT (SELECT count(*) FROM posted_txns) AS txns, (SELECT count(*) FROM posted_legs) AS legs,
       (SELECT coalesce(sum(balance), 0) FROM posted_credits) AS credited_balances
""",
        to_customers=True,
    )
)


_TO_CUSTOMERS_REFUSED = text(
    str(_TO_CUSTOMERS).replace(
        "(SELECT coalesce(sum(balance), 0) FROM posted_credits) AS credited_balances",
        "(SELECT count(*) FROM posted_refused) AS refused",
    )
)


def _tag() -> str:
    return f"bulk-{secrets.token_hex(4)}"


async def _points_accounts(session, customers: list[int]) -> None:  # type: ignore[no-untyped-def]
    for cid in customers:
        await ledger.customer_account(session, cid, Asset.POINTS)


async def _balances(session, customers: list[int]) -> dict[int, int]:  # type: ignore[no-untyped-def]
    rows = await session.execute(
        text(
            "SELECT owner_id, balance FROM ledger_accounts WHERE asset = 'points' AND kind = 'customer' "
            "AND owner_id = ANY(CAST(:c AS bigint[]))"
        ),
        {"c": customers},
    )
    return {int(r.owner_id): int(r.balance) for r in rows}


async def _txns(session, tag: str) -> int:  # type: ignore[no-untyped-def]
    return int(
        await session.scalar(text("SELECT count(*) FROM ledger_txns WHERE idempotency_key LIKE :k"), {"k": f"{tag}:%"})
    )


class TestCompose:
    def test_needs_exactly_one_marker(self) -> None:
        with pytest.raises(ValueError):
            bulk.compose("WITH postings AS (SELECT 1) SELECT 1")
        with pytest.raises(ValueError):
            bulk.compose(f"{bulk.MARKER} {bulk.MARKER}")

    def test_rendered_once_with_no_marker_left(self) -> None:
        assert bulk.MARKER not in str(_BETWEEN) and "posted_legs AS (" in str(_BETWEEN)


class TestBetweenAccounts:
    async def test_n_customers_balance_and_carry_what_the_caller_gave(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 40)
            await _points_accounts(s, customers)
            system = await ledger.system_account(s, "points:issuance:bulk-test")
        tag, amounts = _tag(), [10 + i for i in range(40)]
        async with sm.begin() as s:
            row = (
                await s.execute(
                    _BETWEEN,
                    {
                        "customers": customers,
                        "amounts": amounts,
                        "tag": tag,
                        "direction": "credit",
                        "system": system,
                        "expires_on": date(2027, 12, 31),
                    },
                )
            ).one()
        assert (row.txns, row.legs, row.accounts, row.refused) == (40, 80, 41, 0)
        async with sm() as s:
            assert await _balances(s, customers) == dict(zip(customers, amounts, strict=True))
            assert await s.scalar(text("SELECT balance FROM ledger_accounts WHERE id = :a"), {"a": system}) == -sum(
                amounts
            )
            legs = (
                await s.execute(
                    text(
                        "SELECT e.amount, e.customer_id, e.expires_on, t.kind, t.reference, t.memo FROM ledger_entries e "
                        "JOIN ledger_txns t ON t.id = e.txn_id WHERE t.idempotency_key = :k ORDER BY e.amount"
                    ),
                    {"k": f"{tag}:{customers[3]}"},
                )
            ).all()
            assert [(leg.amount, leg.customer_id, leg.expires_on) for leg in legs] == [
                (-13, customers[3], None),
                (13, customers[3], date(2027, 12, 31)),
            ]  # expiry on the credit leg
            assert {(leg.kind, leg.reference, leg.memo["amount"]) for leg in legs} == {
                ("test_bulk", f"customer:{customers[3]}", 13)
            }
            assert (await ledger.verify(s))["ok"]

    async def test_rerun_and_concurrent_reruns_post_each_key_once(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 30)
            await _points_accounts(s, customers)
            system = await ledger.system_account(s, "points:issuance:bulk-test")
        tag = _tag()
        params = {
            "customers": customers,
            "amounts": [5] * 30,
            "tag": tag,
            "direction": "credit",
            "system": system,
            "expires_on": None,
        }

        async def run(_: int) -> int:
            async with sm.begin() as s:
                return int((await s.execute(_BETWEEN, params)).one().txns)

        results = await gather_concurrently(8, run)
        assert sorted(results) == [0] * 7 + [30], results  # the losers waited on the keys, then skipped them
        assert await run(0) == 0
        async with sm() as s:
            assert set((await _balances(s, customers)).values()) == {5}
            assert await _txns(s, tag) == 30
            assert (await ledger.verify(s))["ok"]

    async def test_overdraft_refused_with_nothing_written(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 5)
            await _points_accounts(s, customers)
            system = await ledger.system_account(s, "points:issuance:bulk-test")
            await s.execute(
                _BETWEEN,
                {
                    "customers": customers,
                    "amounts": [50] * 5,
                    "tag": _tag(),
                    "direction": "credit",
                    "system": system,
                    "expires_on": None,
                },
            )
        tag = _tag()
        spend = {
            "customers": customers,
            "amounts": [50, 50, 51, 50, 50],
            "tag": tag,
            "direction": "debit",
            "system": system,
            "expires_on": None,
        }
        with pytest.raises(InsufficientFunds):
            async with sm.begin() as s:
                row = (await s.execute(_BETWEEN, spend)).one()
                assert (row.refused, row.accounts) == (1, 5)  # the third customer's account did not move
                bulk.raise_if_refused(row.refused)
        async with sm() as s:
            assert await _balances(s, customers) == dict.fromkeys(customers, 50)
            assert await _txns(s, tag) == 0
            assert (await ledger.verify(s))["ok"]

    async def test_a_caller_ignoring_the_refusal_cannot_commit(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 2)
            await _points_accounts(s, customers)
            system = await ledger.system_account(s, "points:issuance:bulk-test")
        tag = _tag()
        with pytest.raises(DBAPIError, match="does not balance"):
            async with sm.begin() as s:
                row = (
                    await s.execute(
                        _BETWEEN,
                        {
                            "customers": customers,
                            "amounts": [1, 1],
                            "tag": tag,
                            "direction": "debit",
                            "system": system,
                            "expires_on": None,
                        },
                    )
                ).one()
                assert row.refused == 2  # no raise_if_refused: the deferred trigger is the backstop
        async with sm() as s:
            assert await _balances(s, customers) == dict.fromkeys(customers, 0)
            assert await _txns(s, tag) == 0


class TestToCustomers:
    async def test_opens_accounts_on_the_fly_once(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 25)
            await _points_accounts(s, customers[:10])  # the other 15 have no account yet
            system = await ledger.system_account(s, "points:issuance:bulk-test")
        first, second = _tag(), _tag()
        async with sm.begin() as s:
            row = (
                await s.execute(_TO_CUSTOMERS, {"customers": customers, "amount": 7, "tag": first, "system": system})
            ).one()
            again = (
                await s.execute(_TO_CUSTOMERS, {"customers": customers, "amount": 7, "tag": first, "system": system})
            ).one()
        assert (row.txns, row.legs, row.credited_balances) == (25, 50, 175)
        assert (again.txns, again.legs) == (0, 0)
        results = await gather_concurrently(4, lambda _: self._run(sm, customers, second, system))
        assert sorted(results) == [0, 0, 0, 25], results
        async with sm() as s:
            assert await _balances(s, customers) == dict.fromkeys(customers, 14)
            assert (
                await s.scalar(
                    text(
                        "SELECT count(*) FROM ledger_accounts WHERE asset = 'points' AND kind = 'customer' "
                        "AND owner_id = ANY(CAST(:c AS bigint[]))"
                    ),
                    {"c": customers},
                )
                == 25
            )
            assert (await ledger.verify(s))["ok"]

    async def test_a_short_debit_account_is_refused_with_nothing_written(self, sm) -> None:
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 3)
            budget = await ledger.system_account(s, f"points:budget:{_tag()}", allow_negative=False)
        tag = _tag()
        with pytest.raises(InsufficientFunds):
            async with sm.begin() as s:
                row = (
                    await s.execute(
                        _TO_CUSTOMERS_REFUSED, {"customers": customers, "amount": 7, "tag": tag, "system": budget}
                    )
                ).one()
                bulk.raise_if_refused(row.refused)
        async with sm() as s:
            assert await _balances(s, customers) == {}  # not even the accounts were opened
            assert await _txns(s, tag) == 0

    async def test_one_customer_twice_fails_the_statement(self, sm) -> None:
        async with sm.begin() as s:
            [cid] = await create_customers_bulk(s, 1)
            system = await ledger.system_account(s, "points:issuance:bulk-test")
        tag = _tag()
        with pytest.raises(DBAPIError, match="cannot affect row a second time"):
            async with sm.begin() as s:
                await s.execute(_TO_CUSTOMERS, {"customers": [cid, cid], "amount": 7, "tag": tag, "system": system})
        async with sm() as s:
            assert await _txns(s, tag) == 0

    @staticmethod
    async def _run(sm, customers: list[int], tag: str, system: int) -> int:  # type: ignore[no-untyped-def]
        async with sm.begin() as s:
            return int(
                (await s.execute(_TO_CUSTOMERS, {"customers": customers, "amount": 7, "tag": tag, "system": system}))
                .one()
                .txns
            )


class TestOpenCustomerAccounts:
    async def test_opens_missing_accounts_only(self, sm) -> None:
        opener = bulk.open_customer_accounts(
            "SELECT c AS customer_id FROM unnest(CAST(:customers AS bigint[])) AS c", asset=Asset.DATA
        )
        async with sm.begin() as s:
            customers = await create_customers_bulk(s, 6)
            existing = await ledger.customer_account(s, customers[0], Asset.DATA)
            await s.execute(opener, {"customers": customers})
            await s.execute(opener, {"customers": customers})
        async with sm() as s:
            rows = (
                await s.execute(
                    text(
                        "SELECT owner_id, id, balance, allow_negative FROM ledger_accounts WHERE asset = 'data_mb' "
                        "AND kind = 'customer' AND owner_id = ANY(CAST(:c AS bigint[]))"
                    ),
                    {"c": customers},
                )
            ).all()
        assert len(rows) == 6 and {(r.balance, r.allow_negative) for r in rows} == {(0, False)}
        assert {r.owner_id: r.id for r in rows}[customers[0]] == existing

    def test_asset_must_be_known(self) -> None:
        with pytest.raises(ValueError):
            bulk.open_customer_accounts("SELECT 1 AS customer_id", asset="gold")  # type: ignore[arg-type]
