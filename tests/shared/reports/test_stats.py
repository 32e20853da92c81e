"""The report statistics on their own: published reference values, exact coverage at 0 %–100 %,
strata, difference in differences, survival and minimum detectable effects."""

from __future__ import annotations

import math
import random

import pytest
from scipy.stats import binom

from shared.reports import stats


class TestWilsonNewcombe:
    def test_wilson_keeps_a_width_at_0_and_100_percent(self) -> None:
        assert stats.wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
        assert stats.wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
        assert stats.wilson(3, 0) is None

    @pytest.mark.parametrize(
        "x1,n1,x2,n2,low,high",
        [
            # Newcombe (1998), Statistics in Medicine 17:873, table II, method 10
            (56, 70, 48, 80, 0.0524, 0.3339),
            (9, 10, 3, 10, 0.1705, 0.8090),
            (5, 56, 0, 29, -0.0381, 0.1926),
            (0, 10, 0, 20, -0.1611, 0.2775),
            (10, 10, 0, 20, 0.6791, 1.0000),
        ],
    )
    def test_newcombe_matches_the_published_table(self, x1, n1, x2, n2, low, high) -> None:
        iv = stats.newcombe(x1, n1, x2, n2)
        assert iv is not None and (round(iv.low, 4), round(iv.high, 4)) == (low, high)

    @pytest.mark.parametrize("n", [14, 30])
    @pytest.mark.parametrize("p", [0.5, 0.9, 0.97, 0.99])
    def test_exact_coverage_of_no_difference_stays_near_95_percent(self, n: int, p: float) -> None:
        """Both arms retain with probability p (an A/A): summed over every outcome, the Newcombe
        interval covers 0 at least ~95 % of the time; Wald collapses near 100 % (n = 14, p = 0.97:
        it covers with a non-zero width only 57 % of the time)."""
        newcombe = wald = 0.0
        for x1 in range(n + 1):
            for x2 in range(n + 1):
                w = binom.pmf(x1, n, p) * binom.pmf(x2, n, p)
                iv = stats.newcombe(x1, n, x2, n)
                newcombe += w * iv.covers(0)
                p1, p2 = x1 / n, x2 / n
                se = math.sqrt(p1 * (1 - p1) / n + p2 * (1 - p2) / n)
                wald += w * (se > 0 and abs(p1 - p2) <= stats.Z95 * se)
        assert newcombe >= 0.945
        if p >= 0.97:
            assert wald < 0.9

    def test_one_stratum_is_newcombe_and_strata_weigh_by_size(self) -> None:
        one = stats.stratified_rates([stats.RateStratum(9, 10, 6, 10)])
        assert one == stats.newcombe(9, 10, 6, 10)
        # A: +0.2 over 100 members, B: 0.0 over 300 → weighted 0.05; each stratum keeps its own split
        two = stats.stratified_rates([stats.RateStratum(45, 50, 35, 50), stats.RateStratum(135, 150, 135, 150)])
        assert two is not None and two.estimate == pytest.approx(0.05)
        assert two.low < 0.05 < two.high
        full = stats.stratified_rates([stats.RateStratum(50, 50, 50, 50), stats.RateStratum(30, 30, 30, 30)])
        assert full is not None and full.low < 0 < full.high, "100 % in every arm still has a width"


class TestDifferenceInDifferences:
    def test_did_is_welch_on_each_members_change(self) -> None:
        treated, holdout = [10, 20, 30, 40, 50], [0, 10, 20]
        iv = stats.did(treated, holdout)
        assert iv is not None and iv.estimate == 20 and iv.df == pytest.approx(5.882353, abs=1e-6)
        assert (iv.low, iv.high) == (pytest.approx(-2.445887, abs=1e-5), pytest.approx(42.445887, abs=1e-5))
        assert stats.did([1], [1, 2]) is None

    def test_a_level_difference_before_launch_cancels(self) -> None:
        rng = random.Random(5)
        pre_t = [rng.gauss(9000, 3000) for _ in range(400)]
        pre_h = [rng.gauss(6000, 3000) for _ in range(200)]  # the arms differ by ¥30 before launch
        post_t = [p + rng.gauss(0, 300) for p in pre_t]
        post_h = [p + rng.gauss(0, 300) for p in pre_h]
        levels = stats.did(post_t, post_h)
        changes = stats.did(
            [b - a for a, b in zip(pre_t, post_t, strict=False)], [b - a for a, b in zip(pre_h, post_h, strict=False)]
        )
        assert levels is not None and not levels.covers(0), "comparing levels finds the pre-existing gap"
        assert changes is not None and changes.covers(0), "comparing changes does not"

    def test_stratified_means_weigh_by_size(self) -> None:
        one = stats.stratified_means([stats.MeanStratum(30, 250, 5, 10, 100, 3)])
        assert one == stats.welch(30, 250, 5, 10, 100, 3)
        two = stats.stratified_means(
            [stats.MeanStratum(10, 100, 50, 0, 100, 50), stats.MeanStratum(0, 100, 150, 0, 100, 150)]
        )
        assert two is not None and two.estimate == pytest.approx(2.5) and two.covers(2.5)


class TestSurvivalAndPower:
    def test_kaplan_meier_without_censoring_is_the_share_not_churned(self) -> None:
        days = [5, 5, 20, 45, 90, 90, 90, 90, 90, 90]
        events = [True, True, True, True, False, False, False, False, False, False]
        curve = stats.kaplan_meier(days, events)
        assert stats.survival_at(curve, 4) == 1.0
        assert stats.survival_at(curve, 30) == pytest.approx(0.7)  # what the report's SQL counts
        assert stats.survival_at(curve, 90) == pytest.approx(0.6)

    def test_kaplan_meier_with_censoring(self) -> None:
        # 4 at risk: churn at 1, censored at 2, churn at 3 → S = 3/4 · 1/2
        curve = stats.kaplan_meier([1, 2, 3, 4], [True, False, True, False])
        assert curve == [(1, 0.75), (3, 0.375)]

    def test_minimum_detectable_effect(self) -> None:
        # p = 0.1, 1000 vs 250: (1.96 + 0.8416) · sqrt(0.09 · (1/1000 + 1/250)) = 0.0594
        assert stats.mde_rates(0.1, 1000, 250) == pytest.approx(0.0594, abs=1e-4)
        assert stats.mde_rates(0.1, 4000, 1000) < stats.mde_rates(0.1, 1000, 250)
        # sd ¥25 in both arms, 2000 vs 500: 2.8016 · 2500 · sqrt(1/2000 + 1/500) = 350.2 fen
        assert stats.mde_means(2500**2, 2000, 2500**2, 500) == pytest.approx(350.2, abs=0.1)
        assert stats.mde_rates(0.1, 0, 10) is None

    def test_aa_coverage_on_seeded_skewed_bills(self) -> None:
        """50 seeded A/A samples of skewed bills with churners billing 0: the DiD interval covers 0
        in at least 45."""
        covered = 0
        for seed in range(50):
            rng = random.Random(seed)

            def member() -> float:
                bill = 2000 + 28000 * rng.random() ** 3
                post = 0.0 if rng.random() < 0.08 else bill * (0.8 + 0.4 * rng.random())
                return post - bill * (0.8 + 0.4 * rng.random())

            iv = stats.did([member() for _ in range(280)], [member() for _ in range(120)])
            covered += iv is not None and iv.covers(0)
        assert covered >= 45
