"""The benches' machine shares: what /proc/stat's ticks mean, and the client's quiet collector
(the services' `freeze_heap`, called before each measured phase)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from machine import cpu_shares, cpu_snapshot  # noqa: E402

from shared.web.app import GC_THRESHOLDS, freeze_heap  # noqa: E402


def test_shares_split_the_ticks_between_two_snapshots() -> None:
    #          user nice system idle iowait irq softirq steal
    before = [100, 0, 50, 1000, 10, 0, 0, 5]
    after = [160, 0, 70, 1090, 10, 0, 10, 35]  # +60 user, +20 system, +90 idle, +10 softirq, +30 steal
    assert cpu_shares(before, after) == {"busy_pct": 42.9, "idle_pct": 42.9, "steal_pct": 14.3}
    assert cpu_shares(None, after) is None


def test_a_real_snapshot_reads_this_machine() -> None:
    a = cpu_snapshot()
    sum(i * i for i in range(200_000))
    b = cpu_snapshot()
    if a is None:  # not Linux
        assert b is None
        return
    assert b is not None and len(a) == len(b) == 8 and all(y >= x for x, y in zip(a, b, strict=True))
    shares = cpu_shares(a, b)
    assert shares is not None and (sum(shares.values()) == 0 or abs(sum(shares.values()) - 100) < 0.5)


def test_freeze_heap_freezes_what_exists() -> None:
    before = gc.get_threshold()
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0 and gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
