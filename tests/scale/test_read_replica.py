"""A real streaming replica (pg_basebackup, infra/scale/replica.py): ReadSession reads go to it,
writes and the writer's reads in the read-your-writes window go to the primary.

Skipped when the PostgreSQL server binaries are not on the machine. Builds its own primary and
replica in a temporary directory on free ports; the shared test server is not touched.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text

from shared.settings import Settings
from shared.web.app import create_service_app
from shared.web.deps import ReadSession, WriteSession

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "infra" / "scale"))
import pgcluster  # noqa: E402

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="PostgreSQL server binaries not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[str, str, int, int]]:
    root = Path(tempfile.mkdtemp(prefix="tenure-replica-test-"))
    root.chmod(0o755)
    p_port, r_port = _free_port(), _free_port()
    try:
        primary = pgcluster.init_primary(root / "primary", p_port)
        pgcluster.psql(p_port, "CREATE TABLE notes (id bigserial PRIMARY KEY, body text NOT NULL)")
        replica = pgcluster.make_replica(p_port, root / "replica", r_port)
        yield primary, replica, p_port, r_port
    finally:
        pgcluster.stop(root / "replica")
        pgcluster.stop(root / "primary")


def _app(settings: Settings):  # type: ignore[no-untyped-def]
    router = APIRouter()

    @router.get("/where")
    async def where(session: ReadSession) -> dict[str, object]:
        row = (
            await session.execute(text("SELECT pg_is_in_recovery(), inet_server_port(), (SELECT count(*) FROM notes)"))
        ).one()
        return {"replica": row[0], "port": row[1], "notes": row[2]}

    @router.post("/notes")
    async def write(session: WriteSession) -> dict[str, object]:
        row = (
            await session.execute(
                text("INSERT INTO notes (body) VALUES ('x') RETURNING pg_is_in_recovery(), inet_server_port()")
            )
        ).one()
        return {"replica": row[0], "port": row[1]}

    return create_service_app(name="replica-test", title="t", audience="t", routers=[router], settings=settings)


async def test_reads_on_replica_writes_on_primary_and_read_your_writes(servers: tuple[str, str, int, int]) -> None:
    primary, replica, p_port, r_port = servers
    settings = Settings(
        env="test", database_url=primary, database_read_url=replica, read_your_writes_s=2.0, access_log=False
    )
    app = _app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://t") as alice,
            httpx.AsyncClient(transport=transport, base_url="http://t") as bob,
        ):
            alice.headers["Authorization"] = "Bearer alice"
            bob.headers["Authorization"] = "Bearer bob"
            before = (await bob.get("/where")).json()
            assert before == {"replica": True, "port": r_port, "notes": 0}

            wrote = (await alice.post("/notes")).json()
            assert wrote == {"replica": False, "port": p_port}
            # alice just wrote: her reads stay on the primary and see her note at once
            mine = (await alice.get("/where")).json()
            assert mine == {"replica": False, "port": p_port, "notes": 1}
            # the same from a browser that only carries the signed cookie (another process)
            cookie_only = httpx.AsyncClient(transport=transport, base_url="http://t", cookies=alice.cookies)
            async with cookie_only:
                assert (await cookie_only.get("/where")).json()["replica"] is False
            # bob did not write: his reads go to the replica
            assert (await bob.get("/where")).json()["replica"] is True
            # a forged cookie does not pin anyone to the primary
            forged = httpx.AsyncClient(
                transport=transport, base_url="http://t", cookies={"tenure_rw": f"{int(time.time()) + 60}.00"}
            )
            async with forged:
                assert (await forged.get("/where")).json()["replica"] is True

            pgcluster.wait_replayed(p_port, r_port)
            time.sleep(3.1)  # the 2 s window ends (the cookie rounds up by up to 1 s): alice is back on the replica
            after = (await alice.get("/where")).json()
            assert after == {"replica": True, "port": r_port, "notes": 1}

    # the replica really is one: it streams from the primary
    assert pgcluster.psql(p_port, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == "1"


async def test_without_read_url_everything_on_primary(servers: tuple[str, str, int, int]) -> None:
    primary, _replica, p_port, _r_port = servers
    app = _app(Settings(env="test", database_url=primary, access_log=False))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            assert (await c.get("/where")).json()["replica"] is False
            assert "tenure_rw" not in (await c.post("/notes")).headers.get("set-cookie", "")
