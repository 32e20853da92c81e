"""API the console's issue-16 screens rely on: the four-high list by branch and care status, its
paging over customers flagged for several kinds, and the caller's permissions in GET /v1/me."""

from __future__ import annotations

from datetime import UTC, date, datetime

from shared.backoffice.permissions import permissions_of
from shared.models import FourHighFlag
from tests.fixtures.factories import create_branch, create_customer

MONTH_END = date(2026, 9, 30)


async def _flags(sm, org) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    """Six customers in two branches; customers 0–2 are flagged for two kinds each."""
    async with sm.begin() as s:
        other = await create_branch(s, parent_id=org[1].id)
        ids = {"here": [], "there": []}
        for i in range(6):
            where = "here" if i % 2 == 0 else "there"
            c = await create_customer(s, branch_id=org[2].id if where == "here" else other.id)
            ids[where].append(c.id)
            kinds = ("payg_data", "tariff") if i < 3 else ("silence",)
            for kind in kinds:
                s.add(
                    FourHighFlag(
                        customer_id=c.id,
                        kind=kind,
                        period=MONTH_END,
                        value=2500.0,
                        cared_at=datetime(2026, 10, 3, tzinfo=UTC) if i in (0, 1) else None,
                        normalised_on=date(2026, 10, 31) if i == 1 else None,
                    )
                )
        ids["branch_other"] = [other.id]
    return ids


async def test_four_high_list_filters_by_branch_and_care_status(admin_client, auth, org, sm) -> None:  # type: ignore[no-untyped-def]
    ids = await _flags(sm, org)
    base = {"granularity": "month", "period": "2026-09-15", "limit": 500}

    async def customers(**params: object) -> list[tuple[int, str]]:
        r = await admin_client.get("/v1/four-high/flags", params={**base, **params}, headers=auth["analyst"])
        assert r.status_code == 200, r.text
        return [(f["customer_id"], f["kind"]) for f in r.json()["items"]]

    mine = set(ids["here"]) | set(ids["there"])
    assert {c for c, _ in await customers() if c in mine} == mine
    assert {c for c, _ in await customers(branch_id=org[2].id)} & mine == set(ids["here"])
    assert {c for c, _ in await customers(branch_id=ids["branch_other"][0])} == set(ids["there"])
    everyone = sorted(mine)
    assert sorted({c for c, _ in await customers(care="normalised")} & mine) == [everyone[1]]
    assert sorted({c for c, _ in await customers(care="cared")} & mine) == [everyone[0]]
    assert sorted({c for c, _ in await customers(care="to_care")} & mine) == everyone[2:]
    assert await customers(care="cared", branch_id=ids["branch_other"][0]) == []
    bad = await admin_client.get("/v1/four-high/flags", params={**base, "care": "maybe"}, headers=auth["analyst"])
    assert bad.status_code == 422 and bad.json()["error"]


async def test_four_high_pages_never_split_a_customer_flagged_twice(admin_client, auth, org, sm) -> None:  # type: ignore[no-untyped-def]
    """Keyset on (customer, kind): a page boundary between two kinds of one customer loses nothing."""
    ids = await _flags(sm, org)
    mine = set(ids["here"]) | set(ids["there"])
    seen: list[tuple[int, str]] = []
    params: dict[str, object] = {"granularity": "month", "period": "2026-09-30", "limit": 1}
    for _ in range(100):
        r = await admin_client.get("/v1/four-high/flags", params=params, headers=auth["analyst"])
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [(f["customer_id"], f["kind"]) for f in body["items"]]
        if body["next_after"] is None:
            break
        params = {**params, "after": body["next_after"], "after_kind": body["next_after_kind"]}
    mine_seen = [x for x in seen if x[0] in mine]
    assert len(mine_seen) == 9 and len(set(mine_seen)) == 9, mine_seen  # 3 × 2 kinds + 3 × 1


async def test_me_lists_the_callers_permissions(admin_client, auth) -> None:  # type: ignore[no-untyped-def]
    for role in ("admin", "analyst", "auditor", "branch_head"):
        me = await admin_client.get("/v1/me", headers=auth[role])
        assert me.status_code == 200, me.text
        assert me.json()["permissions"] == permissions_of(role)
    assert "customers.unmask" in (await admin_client.get("/v1/me", headers=auth["admin"])).json()["permissions"]
    assert "customers.unmask" not in (await admin_client.get("/v1/me", headers=auth["analyst"])).json()["permissions"]


async def test_campaign_audience_takes_a_rule_tree(admin_client, auth, org, sm) -> None:  # type: ignore[no-untyped-def]
    """The console's rule builder sends `rule`; a bad tree is a 422 in the shared error shape."""
    from sqlalchemy import text

    async with sm.begin() as s:
        ids = [(await create_customer(s, branch_id=org[2].id, tier=tier)).id for tier in ("gold", "gold", "star1")]
        await s.execute(
            text(
                "INSERT INTO customer_features (customer_id, branch_id, tier, data_mb) "
                "SELECT id, branch_id, tier, 1000 FROM customers WHERE id = ANY(:i)"
            ),
            {"i": ids},
        )
    rule = {
        "all": [
            {"field": "tier", "op": "in", "value": ["gold", "diamond"]},
            {"field": "data_mb", "op": "<", "value": 5000},
        ]
    }
    body = {"query": {"branch_ids": [org[2].id], "rule": rule}, "holdout_pct": 0}
    ok = await admin_client.post("/v1/campaigns/preview", json=body, headers=auth["strategist"])
    assert ok.status_code == 200, ok.text
    assert ok.json()["audience"] == 2
    bad = {"query": {"rule": {"field": "id_number", "op": "=", "value": "1; DROP TABLE customers"}}}
    refused = await admin_client.post("/v1/campaigns/preview", json=bad, headers=auth["strategist"])
    assert refused.status_code == 422
    assert set(refused.json()) == {"error", "detail", "context"} and "unknown field" in refused.text
