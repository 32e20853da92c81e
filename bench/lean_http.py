"""A minimal keep-alive HTTP/1.1 client for the load benches, on a bare asyncio Protocol.

The load generator shares the box's two cores with the service and PostgreSQL it measures, so
every microsecond it spends per request is taken from the server and shows up as a lower
HTTP/raw ratio or a higher p99. httpx costs ~4 ms of CPU per request here; a client on asyncio
streams with `wait_for` still cost ~0.4 ms (a task per timeout, a `readline` per header line,
measured against the server's own 0.46 ms per check-in). This one parses a response with one
buffer search and waits on one future, under one `asyncio.timeout`.

Only what the benches need: requests without a body, responses with a Content-Length (what
uvicorn sends for every route here). A chunked response raises ValueError.
"""

from __future__ import annotations

import asyncio

_HEAD_END = b"\r\n\r\n"
_LENGTH = b"\r\ncontent-length:"


class _Protocol(asyncio.Protocol):
    """One connection: bytes in, the status code of each complete response out."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        end = self.buf.find(_HEAD_END)
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        at = head.find(_LENGTH)
        if at >= 0:
            stop = head.find(b"\r\n", at + 2)
            length = int(head[at + len(_LENGTH) : stop if stop >= 0 else None])
        elif b"\r\ntransfer-encoding: chunked" in head:
            waiter.set_exception(ValueError("chunked response"))
            return
        else:
            length = 0
        total = end + 4 + length
        if len(self.buf) < total:
            return
        del self.buf[:total]
        self.waiter = None
        waiter.set_result(int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionResetError("server closed the connection"))


class Connection:
    """One persistent connection; `get`/`request` send one request and wait for its response.
    A failed request (timeout, reset, bad response) closes the connection; the next reconnects."""

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.proto: _Protocol | None = None

    async def _open(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(_Protocol, self.host, self.port)
        self.proto = proto
        return proto

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0
    ) -> int:
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) if headers else ""
        raw = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.fixed}{extra}Content-Length: 0\r\n\r\n"
        try:
            async with asyncio.timeout(timeout):
                proto = self.proto if self.proto is not None and not self.proto.closed else await self._open()
                waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                proto.waiter = waiter
                assert proto.transport is not None
                proto.transport.write(raw.encode())
                return await waiter
        except BaseException:
            self.close()
            raise

    async def get(self, path: str, timeout: float = 10.0) -> int:
        return await self.request("GET", path, None, timeout)

    def close(self) -> None:
        if self.proto is not None and self.proto.transport is not None:
            self.proto.transport.close()
        self.proto = None
