"""BOLA matrix (RELIABILITY C7), generated from the manager app's routes: for every route with an
object id in its path, a manager using another manager's (or another branch's) ids, and a branch
head using another branch's ids, gets 404/403 and the database does not change.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from sqlalchemy import text

from tests.fixtures import factories_manager as fm

PARAM = re.compile(r"{(\w+)}")
STATE_SQL = {
    "touches": "SELECT count(*) FROM touches",
    "contacts": "SELECT count(*) FROM manager_contacts",
    "subscriptions": "SELECT count(*) FROM subscriptions",
    "tasks": "SELECT md5(coalesce(string_agg(id || status || coalesce(manager_id, 0) || updated_at::text, ',' ORDER BY id), '')) FROM care_tasks",
    "assignments": "SELECT md5(coalesce(string_agg(customer_id || ':' || manager_id, ',' ORDER BY customer_id), '')) FROM manager_assignments",
    "requests": "SELECT md5(coalesce(string_agg(id || status, ',' ORDER BY id), '')) FROM reassignment_requests",
    "greetings": "SELECT count(*) FROM greetings",
    "ledger": "SELECT count(*) FROM ledger_txns",
}
_keys = itertools.count()


def body_for(method: str, path: str, ids: dict[str, Any]) -> dict[str, Any] | None:
    """A VALID body for each write route (so a refusal is the scope check, not validation)."""
    bodies = {
        ("post", "/v1/customers/{customer_id}/contacts"): {"outcome": "reached"},
        ("post", "/v1/customers/{customer_id}/reassignment-requests"): {"reason": "moving to another city"},
        ("post", "/v1/customers/{customer_id}/orders"): {
            "product_id": ids["product_id"],
            "consent_ref": "call-rec-001",
        },
        ("post", "/v1/tasks/{task_id}/start"): None,
        ("post", "/v1/tasks/{task_id}/complete"): {"outcome": "reached"},
        ("post", "/v1/reassignment-requests/{request_id}/decision"): {
            "approve": True,
            "to_manager_id": ids["own_manager_id"],
        },
        ("post", "/v1/greetings/{occasion}/customers/{customer_id}/done"): {"channel": "sms"},
    }
    if method == "get":
        return None
    assert (method, path) in bodies, f"new write route {method.upper()} {path}: add a valid body to the BOLA matrix"
    return bodies[(method, path)]


def routes_with_ids(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    out = []
    for path, ops in app.openapi()["paths"].items():
        if not path.startswith("/v1") or not PARAM.search(path):
            continue
        for method in ops:
            out.append((method, path))
    return sorted(out)


async def snapshot(sm) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    async with sm() as s:
        return {k: (await s.execute(text(q))).scalar() for k, q in STATE_SQL.items()}


async def _setup(sm):  # type: ignore[no-untyped-def]
    from shared.models import ReassignmentRequest

    async with sm.begin() as s:
        w = await fm.world(s, per_manager=2)
        req_b = ReassignmentRequest(
            customer_id=w.b1[0].id, branch_id=w.branch_b, requested_by=w.mgr_b1.id, reason="x", status="pending"
        )
        req_a2 = ReassignmentRequest(
            customer_id=w.a2[1].id, branch_id=w.branch_a, requested_by=w.mgr_a2.id, reason="y", status="pending"
        )
        s.add_all([req_b, req_a2])
        await s.flush()
    return w, req_b.id, req_a2.id


def fill(path: str, ids: dict[str, Any]) -> str:
    return PARAM.sub(lambda m: str(ids[m.group(1)]), path)


async def test_matrix_foreign_ids_are_404_and_change_nothing(manager_app, manager_client, sm, tokens) -> None:
    w, req_b, req_a2 = await _setup(sm)
    year = __import__("datetime").date.today().year
    victims = {
        # a manager reaching a colleague's customer in the same branch, and another branch's
        "mgr_a1 -> mgr_a2": (tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), w.a2[0], w.mgr_a2.id, req_a2),
        "mgr_a1 -> branch B": (tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), w.b1[0], w.mgr_b1.id, req_b),
        "head_a -> branch B": (tokens.manager(w.head_a.id, "branch_head", w.branch_a), w.b1[0], w.mgr_b1.id, req_b),
        "head_a -> unassigned B": (
            tokens.manager(w.head_a.id, "branch_head", w.branch_a),
            w.unassigned_b[0],
            w.head_b.id,
            req_b,
        ),
    }
    routes = routes_with_ids(manager_app)
    assert len(routes) >= 10, routes
    checked = 0
    for label, (headers, victim, other_staff, request_id) in victims.items():
        task = w.tasks.get(victim.id)
        ids = {
            "customer_id": victim.id,
            "task_id": task.id if task else 10**9,
            "manager_id": other_staff,
            "request_id": request_id,
            "occasion": f"birthday:{year}",
            "product_id": w.product.id,
            "own_manager_id": w.mgr_a1.id,
        }
        for method, path in routes:
            before = await snapshot(sm)
            body = body_for(method, path, ids)
            h = {**headers, "Idempotency-Key": f"bola-{next(_keys):06d}"}
            resp = await manager_client.request(method.upper(), fill(path, ids), json=body, headers=h)
            assert resp.status_code in (403, 404), (label, method, path, resp.status_code, resp.text)
            assert await snapshot(sm) == before, (label, method, path)
            checked += 1
    assert checked == len(routes) * len(victims)


async def test_matrix_own_ids_work(manager_app, manager_client, sm, tokens) -> None:
    """The same GET routes with the principal's own ids answer 200 (the matrix is not vacuous),
    and no response carries a full phone number."""
    w, _, req_a2 = await _setup(sm)
    mine = w.a1[0]
    ids = {
        "customer_id": mine.id,
        "task_id": w.tasks[mine.id].id,
        "manager_id": w.mgr_a1.id,
        "request_id": req_a2,
        "occasion": "birthday:2026",
    }
    headers = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    for method, path in routes_with_ids(manager_app):
        if method != "get":
            continue
        resp = await manager_client.get(fill(path, ids), headers=headers)
        assert resp.status_code == 200, (path, resp.text)
        assert not any(phone in resp.text for phone in fm.all_phones(w)), path  # masked phones only


async def test_hall_staff_cannot_use_manager_routes(manager_app, manager_client, sm, tokens) -> None:
    w, req_b, _ = await _setup(sm)
    headers = tokens.manager(w.hall.id, "hall_staff", w.branch_a)
    c = w.a1[0]
    ids = {
        "customer_id": c.id,
        "task_id": w.tasks[c.id].id,
        "manager_id": w.mgr_a1.id,
        "request_id": req_b,
        "occasion": "birthday:2026",
        "product_id": w.product.id,
        "own_manager_id": w.mgr_a1.id,
    }
    before = await snapshot(sm)
    for method, path in routes_with_ids(manager_app):
        resp = await manager_client.request(
            method.upper(),
            fill(path, ids),
            json=body_for(method, path, ids),
            headers={**headers, "Idempotency-Key": f"hall-{next(_keys):06d}"},
        )
        assert resp.status_code in (403, 404), (path, resp.status_code)
    assert await snapshot(sm) == before
    assert (await manager_client.get("/v1/customers", headers=headers)).status_code == 403


@pytest.mark.parametrize("sort", ["priority", "id"])
async def test_list_returns_exactly_the_assigned_set(manager_client, sm, tokens, sort: str) -> None:
    async with sm.begin() as s:
        w = await fm.world(s, per_manager=5)
    cases = [
        (tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a), {c.id for c in w.a1}),
        (tokens.manager(w.mgr_b1.id, "account_manager", w.branch_b), {c.id for c in w.b1}),
        (tokens.manager(w.head_a.id, "branch_head", w.branch_a), {c.id for c in w.branch_a_customers}),
        (tokens.manager(w.head_b.id, "branch_head", w.branch_b), {c.id for c in w.b1 + w.unassigned_b}),
    ]
    for headers, expected in cases:
        seen: list[int] = []
        cursor = None
        for _ in range(50):
            params: dict[str, Any] = {"limit": 2, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            page = (await manager_client.get("/v1/customers", params=params, headers=headers)).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(seen) == len(set(seen)) and set(seen) == expected


async def test_foreign_ids_in_bodies_and_cursors(manager_client, sm, tokens) -> None:
    """Ids inside bodies are scoped too, and a forged cursor cannot widen the list."""
    import base64
    import json

    from shared.manager import cursor

    w, _, _ = await _setup(sm)
    h = tokens.manager(w.mgr_a1.id, "account_manager", w.branch_a)
    before = await snapshot(sm)
    foreign_task = w.tasks[w.a2[0].id].id
    r = await manager_client.post(
        f"/v1/customers/{w.a1[0].id}/reassignment-requests",
        json={"reason": "x-y-z", "task_id": foreign_task},
        headers=h,
    )
    assert r.status_code == 404
    head = tokens.manager(w.head_a.id, "branch_head", w.branch_a)
    reqs = (await manager_client.get("/v1/reassignment-requests", params={"status": "pending"}, headers=head)).json()
    mine = [x for x in reqs if x["branch_id"] == w.branch_a][0]
    r = await manager_client.post(
        f"/v1/reassignment-requests/{mine['id']}/decision",
        json={"approve": True, "to_manager_id": w.mgr_b1.id},
        headers=head,
    )
    assert r.status_code == 404
    assert await snapshot(sm) == before
    for key in ([-(10**15), 0], [10**15, 0]):
        forged = (
            base64.urlsafe_b64encode(json.dumps({"k": "customers:priority", "v": key}).encode()).decode().rstrip("=")
        )
        assert (await manager_client.get("/v1/customers", params={"cursor": forged}, headers=h)).status_code == 400
        signed = cursor.encode("customers:priority", key)  # even a valid signature only moves the position
        page = (await manager_client.get("/v1/customers", params={"cursor": signed, "limit": 100}, headers=h)).json()
        assert {i["id"] for i in page["items"]} <= {c.id for c in w.a1}
