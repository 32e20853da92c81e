"""The benches' lean HTTP client parses what a real server sends: split packets, bodies, keep-alive."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from lean_http import Connection  # noqa: E402


async def _serve(responses: list[list[bytes]]) -> tuple[asyncio.Server, int, list[bytes]]:
    """A server that answers the k-th request with responses[k], one write per fragment."""
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for fragments in responses:
            try:
                seen.append(await reader.readuntil(b"\r\n\r\n"))
            except asyncio.IncompleteReadError:
                break
            for part in fragments:
                writer.write(part)
                await writer.drain()
                await asyncio.sleep(0.01)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], seen


async def test_fragments_bodies_and_keep_alive() -> None:
    body = b'{"ok":true}'
    server, port, seen = await _serve(
        [
            [
                b"HTTP/1.1 200 OK\r\nContent-Le",
                b"ngth: 11\r\ncontent-type: application/json\r\n\r\n",
                body[:4],
                body[4:],
            ],
            [b"HTTP/1.1 409 Conflict\r\ncontent-length: 0\r\n\r\n"],
            [b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}"],
        ]
    )
    conn = Connection("127.0.0.1", port, {"Authorization": "Bearer t"})
    try:
        assert await conn.request("POST", "/v1/checkin", {"Idempotency-Key": "k" * 12}) == 200
        assert await conn.get("/v1/points") == 409
        assert await conn.get("/v1/account") == 503
        assert len(seen) == 3  # one connection carried all three
        assert seen[0].startswith(b"POST /v1/checkin HTTP/1.1\r\n")
        assert b"Authorization: Bearer t\r\n" in seen[0] and b"Idempotency-Key: kkkkkkkkkkkk\r\n" in seen[0]
    finally:
        conn.close()
        server.close()


async def test_timeout_and_closed_connection_raise() -> None:
    server, port, _ = await _serve([[b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"]])
    conn = Connection("127.0.0.1", port)
    try:
        with pytest.raises((TimeoutError, ConnectionResetError)):
            await conn.get("/slow", timeout=0.3)  # the body never completes; the server then hangs up
        assert conn.proto is None  # a failed request drops its connection
    finally:
        server.close()


async def test_chunked_response_is_refused() -> None:
    server, port, _ = await _serve([[b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"]])
    conn = Connection("127.0.0.1", port)
    try:
        with pytest.raises(ValueError):
            await conn.get("/")
    finally:
        server.close()
