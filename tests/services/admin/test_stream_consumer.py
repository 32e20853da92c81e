"""infra/examples/stream_consumer.py against the admin app: each message once (Idempotency-Key =
message id), 4xx skipped and committed, 5xx retried with backoff and never committed."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.fixtures.factories import create_customer, create_org, create_product, create_staff

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("stream_consumer", ROOT / "infra" / "examples" / "stream_consumer.py")
assert _spec and _spec.loader
consumer = importlib.util.module_from_spec(_spec)
sys.modules["stream_consumer"] = consumer  # dataclasses look their module up
_spec.loader.exec_module(consumer)


class Flaky:
    """The admin client, answering 503 to the first `fail` posts (a deploy, an overloaded pool)."""

    def __init__(self, client: httpx.AsyncClient, fail: int) -> None:
        self.client, self.fail, self.posts = client, fail, 0

    async def post(self, url: str, **kw: object) -> httpx.Response:
        self.posts += 1
        if self.posts <= self.fail:
            return httpx.Response(503, text="unavailable")
        return await self.client.post(url, **kw)  # type: ignore[arg-type]


async def _no_sleep(delays: list[float], s: float) -> None:
    delays.append(s)


async def test_consumer_posts_each_message_once_and_commits_after_2xx_or_4xx(
    admin_client, tokens, sm, tmp_path
) -> None:
    async with sm.begin() as s:
        _, _, branch = await create_org(s)
        op = await create_staff(s, role="operator", org_unit_id=None)
        c = await create_customer(s, branch_id=branch.id)
        await create_product(s, kind="broadband", monthly_fee_fen=1)
    token = tokens.admin(op.id, "operator")["Authorization"].split(" ", 1)[1]
    mid = uuid.uuid4().hex
    event = {"source": "hotline", "customer_id": c.id, "kind": "hotline_call", "reason": "broadband_lag"}
    lines = [
        json.dumps({"id": mid, "event": event}),
        json.dumps({"id": uuid.uuid4().hex, "event": {**event, "customer_id": 999_999_999}}),  # 404: skipped
        json.dumps({"id": mid, "event": event}),  # redelivered: answered from the first
        "not json",
    ]
    offsets = tmp_path / "events.offset"
    delays: list[float] = []
    flaky = Flaky(admin_client, fail=2)
    stats = await consumer.consume(lines, flaky, token=token, offset_file=offsets, sleep=lambda s: _no_sleep(delays, s))
    assert (stats.ok, stats.rejected, stats.retries, stats.committed) == (2, 2, 2, 4)
    assert delays == [0.5, 1.0] and offsets.read_text() == "4"
    async with sm() as s:
        events = await s.scalar(text("SELECT count(*) FROM key_moment_events WHERE external_id = :e"), {"e": mid})
        recs = await s.scalar(text("SELECT count(*) FROM recommendations WHERE customer_id = :c"), {"c": c.id})
    assert (events, recs) == (1, 1)

    again = await consumer.consume(lines, flaky, token=token, offset_file=offsets, sleep=lambda s: _no_sleep(delays, s))
    assert (again.ok, again.rejected, again.committed) == (0, 0, 0)  # resumed after the committed offset


async def test_consumer_stops_without_committing_when_5xx_persists(admin_client, tmp_path) -> None:
    offsets = tmp_path / "events.offset"
    offsets.write_text("0")
    down = Flaky(admin_client, fail=10**6)
    delays: list[float] = []
    line = json.dumps({"id": "m-1", "event": {"source": "x", "customer_id": 1, "kind": "low_balance"}})
    with pytest.raises(consumer.GaveUp):
        await consumer.consume(
            [line], down, token="t", offset_file=offsets, max_attempts=4, sleep=lambda s: _no_sleep(delays, s)
        )
    assert offsets.read_text() == "0" and down.posts == 4 and delays == [0.5, 1.0, 2.0, 4.0]
