"""A Kafka-style consumer for POST :8004/v1/events: an example, stdlib + httpx only.

A file of JSON lines (or stdin) stands in for a topic partition: line n is the message at offset
n, `{"id": "<message id>", "event": {<POST /v1/events body>}}` (or a bare event body, whose
`external_id` is its id). For each message, from the committed offset on:

- POST it with `Idempotency-Key: <message id>` (and `external_id` = the id when the body has
  none): a redelivered message is answered from the first response, nothing is done twice;
- 2xx: done; 4xx: a bad message (unknown customer, invalid body): log it and move on — retrying
  cannot fix it; either way commit the offset (the next offset is written to `--offset-file`);
- 5xx, 429, timeouts and connection errors: retry with exponential backoff and do NOT commit;
  after `--max-attempts` the consumer stops, so the next start resumes at this message.

    python infra/examples/stream_consumer.py events.jsonl --token "$ADMIN" --offset-file .events.offset
    kafka-console-consumer ... | python infra/examples/stream_consumer.py - --token "$ADMIN"
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class Stats:
    ok: int = 0
    rejected: int = 0
    retries: int = 0
    committed: int = 0
    errors: list[str] = field(default_factory=list)


class GaveUp(Exception):
    """A message kept failing with 5xx or timeouts: stop without committing it."""


def parse(line: str) -> tuple[str, dict]:
    """(message id, event body) of one line."""
    msg = json.loads(line)
    if "event" in msg:
        event = dict(msg["event"])
        key = str(msg.get("id") or event.get("external_id"))
    else:
        event, key = dict(msg), str(msg.get("external_id"))
    event.setdefault("external_id", key)
    return key, event


def read_offset(path: Path | None) -> int:
    return int(path.read_text().strip() or 0) if path and path.exists() else 0


def commit(path: Path | None, offset: int) -> None:
    """Write the next offset atomically (a crash between messages resumes after the last commit)."""
    if path is None:
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(str(offset))
    tmp.replace(path)


async def consume(
    lines: Iterable[str],
    client: httpx.AsyncClient,
    *,
    token: str,
    offset_file: Path | None = None,
    max_attempts: int = 8,
    base_delay_s: float = 0.5,
    max_delay_s: float = 30.0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> Stats:
    """Post every message from the committed offset on; raises GaveUp after max_attempts 5xx."""
    stats = Stats()
    start = read_offset(offset_file)
    headers = {"Authorization": f"Bearer {token}"}
    for offset, line in enumerate(lines):
        if offset < start or not line.strip():
            continue
        try:
            key, event = parse(line)
        except (ValueError, TypeError) as exc:  # unreadable message: skip it, like a 4xx
            stats.rejected += 1
            stats.errors.append(f"offset {offset}: unreadable: {exc}")
        else:
            await _post(client, event, key, headers, stats, offset, max_attempts, base_delay_s, max_delay_s, sleep)
        commit(offset_file, offset + 1)
        stats.committed = offset + 1
    return stats


async def _post(
    client: httpx.AsyncClient,
    event: dict,
    key: str,
    headers: dict[str, str],
    stats: Stats,
    offset: int,
    max_attempts: int,
    base: float,
    cap: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    for attempt in range(max_attempts):
        try:
            r = await client.post("/v1/events", json=event, headers={**headers, "Idempotency-Key": key})
        except httpx.TransportError as exc:
            reason = type(exc).__name__
        else:
            if r.status_code < 400:
                stats.ok += 1
                return
            if r.status_code not in RETRYABLE:
                stats.rejected += 1
                stats.errors.append(f"offset {offset}: {r.status_code} {r.text[:200]}")
                print(f"skip offset {offset} ({key}): {r.status_code}", file=sys.stderr)
                return
            reason = str(r.status_code)
        stats.retries += 1
        delay = min(cap, base * 2**attempt)
        print(f"retry offset {offset} ({key}) after {reason} in {delay:.1f}s", file=sys.stderr)
        await sleep(delay)
    raise GaveUp(f"offset {offset} ({key}): still failing after {max_attempts} attempts")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a JSON-lines file, or - for stdin")
    parser.add_argument("--url", default="http://localhost:8004")
    parser.add_argument("--token", required=True, help="an operator's admin bearer token")
    parser.add_argument("--offset-file", type=Path, default=None, help="where the committed offset is kept")
    parser.add_argument("--max-attempts", type=int, default=8)
    args = parser.parse_args()
    stream = sys.stdin if args.source == "-" else open(args.source, encoding="utf-8")  # noqa: SIM115

    async def run() -> Stats:
        async with httpx.AsyncClient(base_url=args.url, timeout=10.0) as client:
            return await consume(
                stream, client, token=args.token, offset_file=args.offset_file, max_attempts=args.max_attempts
            )

    try:
        stats = asyncio.run(run())
    except GaveUp as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        return 1
    print(
        json.dumps({"ok": stats.ok, "rejected": stats.rejected, "retries": stats.retries, "committed": stats.committed})
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
