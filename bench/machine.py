"""What the whole machine did while a phase was measured: CPU shares from /proc/stat.

On a shared VM the figures of a load bench move with what the host takes: steal (time the
hypervisor gave another guest while this one wanted the CPU) of 15–20 % was seen here during
runs whose p99 doubled. Each bench phase prints these shares next to its latencies, so a reader
can tell a slower build from a busier host. Linux only; elsewhere the shares are None.
"""

from __future__ import annotations

from pathlib import Path

_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def cpu_snapshot() -> list[int] | None:
    """The machine's cumulative CPU ticks (the first line of /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    return [int(x) for x in first[1 : 1 + len(_FIELDS)]]


def cpu_shares(before: list[int] | None, after: list[int] | None) -> dict[str, float] | None:
    """Percent of all CPU time between two snapshots: busy (user+nice+system+irq+softirq), idle
    (idle+iowait) and steal."""
    if before is None or after is None:
        return None
    d = dict(zip(_FIELDS, (b - a for a, b in zip(before, after, strict=True)), strict=True))
    total = sum(d.values()) or 1
    busy = d["user"] + d["nice"] + d["system"] + d["irq"] + d["softirq"]
    return {
        "busy_pct": round(100 * busy / total, 1),
        "idle_pct": round(100 * (d["idle"] + d["iowait"]) / total, 1),
        "steal_pct": round(100 * d["steal"] / total, 1),
    }
