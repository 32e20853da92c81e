"""The statistics of the tracking reports, in one place: 95 % intervals that stay honest at 0 %
and 100 %, difference-in-differences, survival from launch, minimum detectable effects.

- A rate: Wilson score interval (never collapses to a point at 0 % or 100 %, unlike Wald).
- Treated − hold-out rate (retention, conversion): Newcombe's hybrid score interval (his method
  10, Statistics in Medicine 1998), built from the two Wilson intervals.
- ARPU: difference-in-differences on each member's change (post-launch mean bill − pre-launch
  mean bill), treated − hold-out, with Welch's t interval (Welch–Satterthwaite degrees of freedom).
- Several campaigns pooled (by strategy, channel, branch, month): each campaign is a stratum
  (its own hold-out share and its own launch); the effect is the member-weighted mean of the
  per-campaign effects, never one pooled comparison (which Simpson's paradox can reverse). The
  variance sums the strata: Agresti–Caffo adjusted (one success and one failure added per arm, so
  0 % and 100 % keep a width) for rates, Welch–Satterthwaite for means. One stratum gives exactly
  Newcombe / Welch.
- Minimum detectable effect at 80 % power, two-sided 5 %: (z₀.₉₇₅ + z₀.₈₀)·se under the planning
  rate or the observed spread.
- Survival from launch: Kaplan–Meier. Campaign members all enter at launch and are followed to
  the same day, so the curve is the share not churned by each day (the SQL computes that
  special case; `kaplan_meier` is the general estimator, and the tests check they agree).
Every function returns None when an arm is too small to estimate anything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t

Z95 = 1.959963984540054
Z80 = 0.8416212335729143


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float
    se: float
    df: float | None = None

    def covers(self, value: float) -> bool:
        return self.low <= value <= self.high

    def rounded(self, digits: int = 4) -> dict[str, float | None]:
        return {
            "estimate": round(self.estimate, digits),
            "ci_low": round(self.low, digits),
            "ci_high": round(self.high, digits),
            "se": round(self.se, digits),
            "df": None if self.df is None else round(self.df, 2),
        }


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for x successes in n."""
    if n <= 0:
        return None
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1: int, n1: int, x2: int, n2: int) -> Interval | None:
    """p1 − p2 with Newcombe's hybrid score interval (group 1 = treated, 2 = hold-out).

    `se` is the half-width over z (for display and MDE arithmetic only; the interval is not
    symmetric)."""
    w1, w2 = wilson(x1, n1), wilson(x2, n2)
    if w1 is None or w2 is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = w1, w2
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high), (high - low) / (2 * Z95))


def welch(mean1: float, var1: float, n1: int, mean2: float, var2: float, n2: int) -> Interval | None:
    """mean1 − mean2 with a 95 % Welch t interval; var are sample variances (n − 1 denominator)."""
    if n1 < 2 or n2 < 2:
        return None
    a, b = var1 / n1, var2 / n2
    se = math.sqrt(a + b)
    d = mean1 - mean2
    if se == 0:
        return Interval(d, d, d, 0.0, float(n1 + n2 - 2))
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    q = float(student_t.ppf(0.975, df))
    return Interval(d, d - q * se, d + q * se, se, df)


def did(treated_changes: Sequence[float], holdout_changes: Sequence[float]) -> Interval | None:
    """Difference-in-differences from each member's own change (post − pre): mean change of the
    treated minus mean change of the hold-out, Welch interval. Pre-launch differences between the
    arms cancel; what the arms did differently after launch remains."""
    s1, s2 = _moments(treated_changes), _moments(holdout_changes)
    return welch(s1[0], s1[1], len(treated_changes), s2[0], s2[1], len(holdout_changes))


def _moments(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


@dataclass(frozen=True, slots=True)
class RateStratum:
    x1: int
    n1: int
    x2: int
    n2: int


@dataclass(frozen=True, slots=True)
class MeanStratum:
    mean1: float
    var1: float
    n1: int
    mean2: float
    var2: float
    n2: int


def stratified_rates(strata: Sequence[RateStratum]) -> Interval | None:
    """Member-weighted treated − hold-out rate difference over strata (see the module doc)."""
    usable = [s for s in strata if s.n1 > 0 and s.n2 > 0]
    if not usable:
        return None
    if len(usable) == 1:
        s = usable[0]
        return newcombe(s.x1, s.n1, s.x2, s.n2)
    total = sum(s.n1 + s.n2 for s in usable)
    d = var = 0.0
    for s in usable:
        w = (s.n1 + s.n2) / total
        d += w * (s.x1 / s.n1 - s.x2 / s.n2)
        a1, a2 = (s.x1 + 1) / (s.n1 + 2), (s.x2 + 1) / (s.n2 + 2)
        var += w * w * (a1 * (1 - a1) / (s.n1 + 2) + a2 * (1 - a2) / (s.n2 + 2))
    se = math.sqrt(var)
    return Interval(d, max(-1.0, d - Z95 * se), min(1.0, d + Z95 * se), se)


def stratified_means(strata: Sequence[MeanStratum]) -> Interval | None:
    """Member-weighted treated − hold-out mean difference over strata (Welch for one stratum)."""
    usable = [s for s in strata if s.n1 >= 2 and s.n2 >= 2]
    if not usable:
        return None
    if len(usable) == 1:
        s = usable[0]
        return welch(s.mean1, s.var1, s.n1, s.mean2, s.var2, s.n2)
    total = sum(s.n1 + s.n2 for s in usable)
    d = 0.0
    parts: list[tuple[float, int]] = []
    for s in usable:
        w = (s.n1 + s.n2) / total
        d += w * (s.mean1 - s.mean2)
        parts += [(w * w * s.var1 / s.n1, s.n1), (w * w * s.var2 / s.n2, s.n2)]
    var = sum(a for a, _ in parts)
    if var == 0:
        return Interval(d, d, d, 0.0, float(total - 2 * len(usable)))
    df = var * var / sum(a * a / (n - 1) for a, n in parts)
    q = float(student_t.ppf(0.975, df))
    se = math.sqrt(var)
    return Interval(d, d - q * se, d + q * se, se, df)


def mde_rates(p: float, n1: int, n2: int) -> float | None:
    """Smallest rate difference found 80 % of the time at two-sided 5 %, for a true rate p."""
    if n1 <= 0 or n2 <= 0:
        return None
    p = min(max(p, 0.0), 1.0)
    return (Z95 + Z80) * math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))


def mde_means(var1: float, n1: int, var2: float, n2: int) -> float | None:
    """Smallest mean difference found 80 % of the time at two-sided 5 %, for these spreads."""
    if n1 < 2 or n2 < 2:
        return None
    return (Z95 + Z80) * math.sqrt(var1 / n1 + var2 / n2)


def kaplan_meier(durations: Sequence[float], events: Sequence[bool]) -> list[tuple[float, float]]:
    """(time, survival) after each event time. `durations[i]`: days from launch to churn (event)
    or to the end of follow-up (censored)."""
    pairs = sorted(zip(durations, events, strict=True))
    at_risk, survival, out, i = len(pairs), 1.0, [], 0
    while i < len(pairs):
        t, deaths, leaving = pairs[i][0], 0, 0
        while i < len(pairs) and pairs[i][0] == t:
            deaths += int(pairs[i][1])
            leaving += 1
            i += 1
        if deaths:
            survival *= 1 - deaths / at_risk
            out.append((t, survival))
        at_risk -= leaving
    return out


def survival_at(curve: Sequence[tuple[float, float]], t: float) -> float:
    """S(t) from a Kaplan–Meier curve (a step function, 1 before the first event)."""
    s = 1.0
    for time, value in curve:
        if time > t:
            break
        s = value
    return s
