"""Customer-level facts for the whole city, drawn vectorised up front (a few arrays of N).

Drawing every per-customer decision first (group, plan, dates, how many handsets/complaints/
calls/subscriptions) lets chunk workers run in any order on any thread and still produce the
same rows and the same ids for a given seed: event ids are prefix sums over these counts.

Planted behaviours (ground truth, written to `customers.attributes.planted`):
- drifter: usage and bill fall over the 3 months up to their end, plan downgrades, add-ons
  cancelled, contract running out, competitor-hotline calls, complaints of one cause; about half
  have churned.
- churn (half the drifters, ~1.5% of ordinary customers) is dated over the last CHURN_MONTHS
  complete months and the current partial one, so a model can be fitted on earlier churn and
  evaluated on later churn it never saw (out of time). Each customer's story ends at their own
  `end_month` / `until` (the churn month / day, else the last month / today): the declines,
  add-on cancellations, complaints, competitor calls and the newest handset lead up to it, and a
  churner has no usage after the churn month and no subscription running past the churn day.
- high_tariff / high_payg / high_silence / high_arpu: the four-high anomalies (seed 004).
- silent: next to no activity. vip: long tenure, top plans, high bills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from tenure_demo import catalog

GROUPS = ["normal", "drifter", "high_tariff", "high_payg", "high_silence", "high_arpu", "silent", "vip"]
GROUP_P = [0.82, 0.04, 0.02, 0.02, 0.03, 0.02, 0.02, 0.03]
G = {name: i for i, name in enumerate(GROUPS)}
CAUSES = ["network", "tariff", "service"]  # seed 002: potential-loss sub-causes
STATUS = ["active", "suspended", "churned"]
CHURN_MONTHS = 4  # churn dates fall in the last 4 complete months or the current partial month

PRODUCT_ID = {p["code"]: i + 1 for i, p in enumerate(catalog.PRODUCTS)}
PLAN_FEE = np.array([p["fee"] for p in catalog.PLANS], np.int64)
PLAN_VOICE = np.array([p["voice"] for p in catalog.PLANS], np.int64)
PLAN_DATA = np.array([p["data"] for p in catalog.PLANS], np.int64)
PLAN_SMS = np.array([p["sms"] for p in catalog.PLANS], np.int64)
PLAN_IDS = np.array([PRODUCT_ID[p["code"]] for p in catalog.PLANS], np.int64)

# subscription slots: (name, candidate product codes)
SLOTS = [
    ("broadband", ["BB-300M", "BB-1000M", "BB-SPEEDUP"]),
    ("membership", ["MEM-TENCENT", "MEM-IQIYI", "MEM-MIGU", "MEM-QQMUSIC"]),
    ("data_pack", ["DATA-5G-30", "DATA-10G-50", "DATA-TGT-VIDEO", "DATA-NIGHT-10", "DATA-TGT-GAME"]),
    ("voice_pack", ["VOICE-100-10", "VOICE-300-25"]),
    ("family", ["FAMILY-PAY", "FAMILY-SHARE-10"]),
    ("contract", ["CONTRACT-CJS-40-12", "CONTRACT-CJS-50-24", "CONTRACT-MIN-199", "CONTRACT-STAY-12"]),
    ("recharge", ["RECHARGE-100-6", "RECHARGE-200-12"]),
]
SLOT = {name: i for i, (name, _) in enumerate(SLOTS)}
FEE_BY_PID = np.array([0] + [p["monthly_fee_fen"] for p in catalog.PRODUCTS], np.int64)
DATA_BY_PID = np.array(
    [0] + [p["data_mb"] if p["code"] in ("DATA-5G-30", "DATA-10G-50") else 0 for p in catalog.PRODUCTS], np.int64
)
VOICE_BY_PID = np.array([0] + [p["voice_min"] for p in catalog.PRODUCTS], np.int64)
DURATION_BY_PID = np.array([0] + [p["duration_months"] or 0 for p in catalog.PRODUCTS], np.int64)


def month_starts(as_of: date, months: int) -> list[date]:
    """`months` first-of-month dates ending with the last complete month before `as_of`."""
    y, m = as_of.year, as_of.month
    out = []
    for _ in range(months):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        out.append(date(y, m, 1))
    return out[::-1]


def _pick(rng: np.random.Generator, codes: list[str], p: list[float] | None, n: int) -> np.ndarray:
    ids = np.array([PRODUCT_ID[c] for c in codes], np.int64)
    return ids[rng.choice(len(codes), size=n, p=p)]


@dataclass
class Population:
    n: int
    as_of: np.datetime64
    months: np.ndarray  # datetime64[D], first days
    month_days: np.ndarray  # days in each month
    n_branches: int
    group: np.ndarray
    cause: np.ndarray
    branch: np.ndarray
    male: np.ndarray
    birthday: np.ndarray
    join_date: np.ndarray
    plan_early: np.ndarray
    plan_now: np.ndarray
    downgrade_month: np.ndarray  # month index from which plan_now applies (= months when never)
    status: np.ndarray
    churned_on: np.ndarray  # datetime64[D], NaT when not churned
    end_month: np.ndarray  # index of the last month with usage: the churn month, else months - 1
    until: np.ndarray  # datetime64[D], exclusive end of activity: churned_on + 1 day, else as_of
    churn_month_frac: np.ndarray  # share of end_month still active (1.0 unless churned during it)
    natural_churn_decline: np.ndarray
    contract_end: np.ndarray
    dnd: np.ndarray
    slots: np.ndarray  # (n, len(SLOTS)) product id or 0
    cancel_month: np.ndarray  # month index from which add-ons (membership, data pack) are cancelled
    n_handsets: np.ndarray
    n_complaints: np.ndarray
    n_calls: np.ndarray
    offsets: dict[str, np.ndarray] = field(default_factory=dict)  # prefix sums, len n+1

    @property
    def m(self) -> int:
        return len(self.months)

    @property
    def high_value(self) -> np.ndarray:
        """Who tier rules (tenure and spend) will most likely make five-star or above: the basis
        for the account-manager head-count (one per ~400)."""
        tenure_years = (self.as_of - self.join_date).astype(np.int64) / 365.25
        return (self.plan_now >= 5) | ((self.plan_now == 4) & (tenure_years >= 5)) | (self.group == G["vip"])


def draw(n: int, *, months: int, seed: int, as_of: date) -> Population:
    rng = np.random.default_rng([seed, 0])
    month_list = month_starts(as_of, months)
    mon = np.array(month_list, "datetime64[D]")
    nxt = np.append(mon[1:], np.datetime64(as_of.replace(day=1), "D"))
    month_days = (nxt - mon).astype(np.int64)
    today = np.datetime64(as_of, "D")
    n_branches = max(3, round(n / 50_000))

    group = rng.choice(len(GROUPS), size=n, p=GROUP_P).astype(np.int8)
    is_ = {name: group == i for name, i in G.items()}
    cause = rng.choice(3, size=n, p=[0.4, 0.35, 0.25]).astype(np.int8)

    w = 1.0 / (1.0 + 0.12 * np.arange(n_branches))
    branch = rng.choice(n_branches, size=n, p=w / w.sum()).astype(np.int32)
    male = rng.random(n) < 0.51

    age = np.clip(rng.normal(40, 14, n), 16, 85)
    age = np.where(is_["vip"], np.clip(rng.normal(46, 9, n), 28, 75), age)
    age = np.where(is_["silent"], np.clip(rng.normal(55, 15, n), 18, 88), age)
    age = np.where(is_["high_payg"], np.clip(rng.normal(27, 7, n), 16, 60), age)
    age_days = (age * 365.25).astype(np.int64)
    birthday = today - age_days.astype("timedelta64[D]")

    min_tenure = int((today - mon[0]).astype(np.int64)) + 31
    tenure = np.exp(rng.normal(np.log(5.5 * 365), 0.75, n))
    tenure = np.where(is_["vip"], rng.uniform(10, 22, n) * 365, tenure)
    tenure = np.where(is_["drifter"], np.exp(rng.normal(np.log(2.5 * 365), 0.7, n)), tenure)
    max_tenure = np.maximum(min_tenure + 1, np.minimum(25 * 365, age_days - 14 * 365))
    tenure = np.clip(tenure, min_tenure, max_tenure).astype(np.int64)
    join_date = today - tenure.astype("timedelta64[D]")

    # plan mix by age band, then overridden per planted group
    band = np.digitize(age, [26, 46, 61])
    band_p = [
        [0.10, 0.38, 0.30, 0.14, 0.05, 0.02, 0.01],
        [0.08, 0.22, 0.30, 0.24, 0.10, 0.04, 0.02],
        [0.16, 0.30, 0.26, 0.16, 0.07, 0.03, 0.02],
        [0.42, 0.34, 0.14, 0.06, 0.02, 0.01, 0.01],
    ]
    plan = np.empty(n, np.int8)
    for b, p in enumerate(band_p):
        sel = band == b
        plan[sel] = rng.choice(7, size=int(sel.sum()), p=p)

    def override(name: str, choices: list[int], p: list[float]) -> None:
        sel = is_[name]
        plan[sel] = np.array(choices)[rng.choice(len(choices), size=int(sel.sum()), p=p)]

    override("drifter", [1, 2, 3, 4, 5], [0.22, 0.32, 0.26, 0.12, 0.08])
    override("high_tariff", [0, 1, 2], [0.3, 0.4, 0.3])
    override("high_payg", [0, 1, 2], [0.35, 0.45, 0.2])
    override("high_silence", [2, 3, 4, 5], [0.35, 0.35, 0.2, 0.1])
    override("high_arpu", [4, 5, 6], [0.3, 0.4, 0.3])
    override("silent", [0, 1, 2], [0.5, 0.35, 0.15])
    override("vip", [4, 5, 6], [0.35, 0.4, 0.25])
    plan_early = plan.copy()
    downgrade = is_["drifter"] & (rng.random(n) < 0.7)
    plan_now = np.where(downgrade, np.maximum(0, plan_early - rng.integers(1, 3, n)), plan_early).astype(np.int8)

    # churn: half the drifters, ~1.5% of ordinary customers (noise the model must live with),
    # dated uniformly over the last CHURN_MONTHS complete months and the current partial month
    natural = is_["normal"] & (rng.random(n) < 0.015)
    churned = (is_["drifter"] & (rng.random(n) < 0.5)) | natural
    first_churn_month = mon[max(0, months - CHURN_MONTHS)]
    span = max(1, int((today - first_churn_month).astype(np.int64)))
    churn_offset = rng.integers(0, span, n)
    churned_on = np.where(churned, first_churn_month + churn_offset.astype("timedelta64[D]"), np.datetime64("NaT", "D"))
    churn_month = np.searchsorted(mon, np.where(churned, churned_on, today), side="right") - 1
    in_history = churned & (churned_on < np.datetime64(as_of.replace(day=1), "D"))
    end_month = np.where(in_history, churn_month, months - 1).astype(np.int16)
    day_in_month = (churned_on - mon[end_month]).astype(np.int64)
    frac = np.where(in_history, (day_in_month + 1) / month_days[end_month], 1.0)
    until = np.where(churned, churned_on + np.timedelta64(1, "D"), today)
    downgrade_month = np.where(downgrade, end_month + 1 - rng.integers(1, 3, n), months).astype(np.int16)
    suspended = ~churned & is_["normal"] & (rng.random(n) < 0.004)
    status = np.where(churned, 2, np.where(suspended, 1, 0)).astype(np.int8)
    natural_decline = natural & (rng.random(n) < 0.5)

    # contracts (contract_end) and the add-on subscriptions
    has_contract = rng.random(n) < np.select([is_["vip"], is_["drifter"], is_["high_arpu"]], [0.55, 0.4, 0.45], 0.2)
    end_offset = rng.integers(-90, 540, n)
    end_offset = np.where(is_["drifter"], rng.integers(-60, 60, n), end_offset)
    contract_base = np.where(is_["drifter"], until, today)  # a drifter's contract runs out around the end
    contract_end = np.where(
        has_contract, contract_base + end_offset.astype("timedelta64[D]"), np.datetime64("NaT", "D")
    )

    slots = np.zeros((n, len(SLOTS)), np.int64)

    def fill(slot: str, p_has: np.ndarray | float, codes: list[str], p: list[float] | None = None) -> None:
        has = rng.random(n) < p_has
        slots[:, SLOT[slot]] = np.where(has, _pick(rng, codes, p, n), 0)

    fill(
        "broadband",
        np.select([is_["vip"], plan >= 3], [0.7, 0.35], 0.15),
        ["BB-300M", "BB-1000M", "BB-SPEEDUP"],
        [0.6, 0.3, 0.1],
    )
    fill(
        "membership",
        np.select([is_["high_silence"], is_["vip"], age < 35], [0.9, 0.4, 0.2], 0.07),
        ["MEM-TENCENT", "MEM-IQIYI", "MEM-MIGU", "MEM-QQMUSIC"],
    )
    fill(
        "data_pack",
        np.select([is_["high_silence"], is_["high_payg"], age < 30], [0.5, 0.0, 0.15], 0.06),
        ["DATA-5G-30", "DATA-10G-50", "DATA-TGT-VIDEO", "DATA-NIGHT-10", "DATA-TGT-GAME"],
        [0.35, 0.15, 0.3, 0.1, 0.1],
    )
    fill("voice_pack", np.where(age > 55, 0.08, 0.02), ["VOICE-100-10", "VOICE-300-25"])
    fill("family", np.where(is_["vip"], 0.35, 0.05), ["FAMILY-PAY", "FAMILY-SHARE-10"])
    contract_pid = _pick(rng, ["CONTRACT-CJS-40-12", "CONTRACT-CJS-50-24", "CONTRACT-STAY-12"], None, n)
    contract_pid = np.where(is_["high_arpu"] & (rng.random(n) < 0.6), PRODUCT_ID["CONTRACT-MIN-199"], contract_pid)
    has_contract |= contract_pid == PRODUCT_ID["CONTRACT-MIN-199"]
    contract_end = np.where(
        has_contract & np.isnat(contract_end), today + rng.integers(30, 540, n).astype("timedelta64[D]"), contract_end
    )
    slots[:, SLOT["contract"]] = np.where(has_contract, contract_pid, 0)
    fill("recharge", np.where(is_["drifter"], 0.0, 0.03), ["RECHARGE-100-6", "RECHARGE-200-12"])
    cancel_month = np.where(is_["drifter"], np.maximum(0, end_month - 2), months).astype(np.int16)

    dnd = rng.random(n) < np.where(is_["silent"], 0.05, 0.02)

    n_handsets = 1 + (rng.random(n) < 0.30) + (rng.random(n) < 0.07) + is_["drifter"]
    lam_c = (
        np.select(
            [is_["drifter"], is_["high_tariff"], is_["high_payg"], is_["high_arpu"], is_["vip"], is_["silent"]],
            [1.6, 0.5, 0.4, 0.4, 0.15, 0.02],
            0.06,
        )
        + 0.3 * natural
    )
    n_complaints = rng.poisson(lam_c)
    lam_k = np.select([is_["drifter"], natural], [2.5, 0.5], 0.03)
    n_calls = rng.poisson(lam_k) + is_["drifter"]  # every drifter has called a competitor at least once

    pop = Population(
        n=n,
        as_of=today,
        months=mon,
        month_days=month_days,
        n_branches=n_branches,
        group=group,
        cause=cause,
        branch=branch,
        male=male,
        birthday=birthday,
        join_date=join_date,
        plan_early=plan_early,
        plan_now=plan_now,
        downgrade_month=downgrade_month,
        status=status,
        churned_on=churned_on,
        end_month=end_month,
        until=until,
        churn_month_frac=frac,
        natural_churn_decline=natural_decline,
        contract_end=contract_end,
        dnd=dnd,
        slots=slots,
        cancel_month=cancel_month,
        n_handsets=n_handsets.astype(np.int64),
        n_complaints=n_complaints.astype(np.int64),
        n_calls=n_calls.astype(np.int64),
    )
    for name, counts in (
        ("handsets", pop.n_handsets),
        ("complaints", pop.n_complaints),
        ("competitor_calls", pop.n_calls),
        ("subscriptions", (slots > 0).sum(axis=1)),
    ):
        pop.offsets[name] = np.concatenate([[0], np.cumsum(counts)])
    return pop
