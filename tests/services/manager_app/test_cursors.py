"""Paging cursors are signed: a tampered, forged, foreign or ill-typed cursor is 400, never a 500."""

from __future__ import annotations

import base64
import json

import pytest

from shared.manager import cursor
from tests.fixtures import factories_manager as fm

LISTS = [
    ("/v1/customers", "customers:priority"),
    ("/v1/tasks", "tasks:today"),
    ("/v1/greetings", "greetings"),
    ("/v1/sync", "sync"),
]


def _unsigned(doc: object) -> str:
    """The old, unsigned format: base64url of a JSON document."""
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def _tampered(path: str, kind: str) -> list[str]:
    good = cursor.encode(kind, [1, 2])
    mac = good.partition(".")[2]
    return [
        _unsigned({"k": kind, "v": ["x", "y", "z"]}),  # wrong types reached SQL before
        _unsigned({"k": kind, "v": [{"t": ["x", 1], "c": 5}]}),
        good[:-2] + ("AA" if good[-2:] != "AA" else "BB"),  # one signature character changed
        _unsigned([9, 9]).rstrip("=") + "." + mac,  # other values, the old signature
        cursor.encode("customers:id" if kind != "customers:id" else "tasks:today", [1]),  # another list's
        cursor.encode(kind, ["not-a-date", "x", 3, None, 1, 2]),  # signed but the wrong shape/types
        cursor.encode(kind, [True, False]),
        "%%%",
        "a.b.c",
        "." * 50,
    ]


@pytest.mark.parametrize(("path", "kind"), LISTS)
async def test_bad_cursors_are_400_invalid_cursor(manager_client, sm, tokens, path, kind) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=2)
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    for bad in _tampered(path, kind):
        r = await manager_client.get(path, params={"cursor": bad}, headers=h)
        assert r.status_code == 400, (bad, r.status_code, r.text)
        assert r.json()["error"] == "invalid_cursor"


async def test_a_real_cursor_still_pages(manager_client, sm, tokens) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=3)
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    first = (await manager_client.get("/v1/customers", params={"limit": 1}, headers=h)).json()
    assert first["next_cursor"] and len(first["next_cursor"]) < 60  # compact
    second = (
        await manager_client.get("/v1/customers", params={"limit": 1, "cursor": first["next_cursor"]}, headers=h)
    ).json()
    assert second["items"] and second["items"][0]["id"] != first["items"][0]["id"]
    synced = (await manager_client.get("/v1/sync", headers=h)).json()
    assert (
        await manager_client.get("/v1/sync", params={"cursor": synced["next_cursor"]}, headers=h)
    ).status_code == 200


def test_a_cursor_signed_with_another_secret_does_not_verify(monkeypatch) -> None:
    from shared.settings import Settings

    token = cursor.encode("tasks:today", ["2026-01-01", 5])
    assert cursor.decode(token, "tasks:today", (cursor.DATE, cursor.INT))[1] == 5
    monkeypatch.setattr("shared.settings.get_settings", lambda: Settings(jwt_secret="another-secret-" + "y" * 40))
    with pytest.raises(cursor.InvalidCursor):
        cursor.decode(token, "tasks:today", (cursor.DATE, cursor.INT))
