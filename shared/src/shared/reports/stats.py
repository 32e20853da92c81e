"""Uplift estimates with 95 % confidence intervals.

- Retention (a proportion): difference of proportions, normal approximation with unpooled
  standard error: se = sqrt(p1(1−p1)/n1 + p2(1−p2)/n2), CI = d ± 1.959964·se.
- ARPU change (a mean): Welch's t interval: se = sqrt(s1²/n1 + s2²/n2), degrees of freedom by
  Welch–Satterthwaite, CI = d ± t(0.975, df)·se.
Both return None when a group is too small to estimate (n = 0, or n < 2 for Welch).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import t as student_t

Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float
    se: float
    df: float | None = None

    def rounded(self, digits: int = 4) -> dict[str, float | None]:
        return {
            "estimate": round(self.estimate, digits), "ci_low": round(self.low, digits),
            "ci_high": round(self.high, digits), "se": round(self.se, digits),
            "df": None if self.df is None else round(self.df, 2),
        }


def diff_proportions(x1: int, n1: int, x2: int, n2: int) -> Interval | None:
    """p1 − p2 with a 95 % normal-approximation interval (group 1 = treated, 2 = hold-out)."""
    if n1 <= 0 or n2 <= 0:
        return None
    p1, p2 = x1 / n1, x2 / n2
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    d = p1 - p2
    return Interval(d, d - Z95 * se, d + Z95 * se, se)


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
