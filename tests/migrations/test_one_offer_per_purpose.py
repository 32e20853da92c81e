"""Migration 0007o: existing duplicate open offers are resolved (key moment > campaign > strategy,
then the newest) before the one-open-offer-per-(customer, purpose) index is built."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from shared.db.embedded import to_sync_url
from shared.db.migrate import upgrade
from tests.fixtures.db import scratch_database


@pytest.fixture
def empty_db(server_url: str) -> Iterator[str]:
    with scratch_database(server_url, "tenure_mig", migrate=False) as url:
        yield url


def test_duplicates_resolved_deterministically(empty_db: str) -> None:
    upgrade(empty_db, "0007a")
    eng = create_engine(to_sync_url(empty_db))
    try:
        with eng.begin() as conn:
            cid = conn.scalar(
                text(
                    "INSERT INTO customers (phone, phone_last4, name, join_date) "
                    "VALUES ('13700000079', '0079', 'x', DATE '2020-01-01') RETURNING id"
                )
            )
            strategy = lambda cond: conn.scalar(  # noqa: E731
                text(
                    "INSERT INTO strategies (name, condition, channel, script, priority, active) "
                    "VALUES ('s', CAST(:c AS jsonb), 'sms', 'x', 1, true) RETURNING id"
                ),
                {"c": cond},
            )
            risk, four_high = strategy('{"risk": ["high"]}'), strategy('{"four_high": ["payg_data"]}')
            upsell, upsell2 = strategy("{}"), strategy('{"stage": ["exploration"]}')
            retention2 = strategy('{"segment": ["potential_loss"]}')
            campaign = conn.scalar(
                text(
                    "INSERT INTO campaigns (name, query, strategy_id, channel, flow, starts_on, ends_on, holdout_pct, "
                    "cost_per_touch_fen, status) VALUES ('c', '{}', :s, 'sms', 'outbound', DATE '2026-01-01', "
                    "DATE '2026-02-01', 0, 0, 'running') RETURNING id"
                ),
                {"s": retention2},
            )

            def rec(strategy_id: int | None, campaign_id: int | None = None, at: str = "2026-01-01") -> int:
                return int(
                    conn.scalar(
                        text(
                            "INSERT INTO recommendations (customer_id, strategy_id, campaign_id, channel, score, status, "
                            "created_at) VALUES (:c, :s, :k, 'sms', 1, 'open', CAST(:at AS timestamptz)) RETURNING id"
                        ),
                        {"c": cid, "s": strategy_id, "k": campaign_id, "at": at},
                    )
                )

            nightly_retention = rec(risk, at="2026-01-05")  # newest, but the lowest rank
            campaign_retention = rec(retention2, campaign, at="2026-01-03")
            key_moment_old, key_moment_new = rec(None, at="2026-01-01"), rec(None, at="2026-01-02")
            four_high_offer = rec(four_high)
            upsell_old, upsell_new = rec(upsell, at="2026-01-01"), rec(upsell2, at="2026-01-02")
        upgrade(empty_db, "0007o")
        with eng.connect() as conn:
            rows = {
                r.id: (r.status, r.purpose, r.origin)
                for r in conn.execute(
                    text("SELECT id, status, purpose, origin FROM recommendations WHERE customer_id = :c"), {"c": cid}
                )
            }
        assert rows == {
            nightly_retention: ("superseded", "retention", "strategy"),
            campaign_retention: ("superseded", "retention", "campaign"),
            key_moment_old: ("superseded", "retention", "key_moment"),
            key_moment_new: ("open", "retention", "key_moment"),
            four_high_offer: ("open", "four_high", "strategy"),
            upsell_old: ("superseded", "cross_sell", "strategy"),
            upsell_new: ("open", "cross_sell", "strategy"),
        }
    finally:
        eng.dispose()
