"""Rows for one chunk of customers [lo, hi), table by table, as binary-COPY columns.

Each builder takes its own random stream (seeded by seed, chunk and table), so a chunk's rows do
not depend on which thread built it or on what was built before. Planted timing is relative to
each customer's own end (`Population.end_month` / `until`: the churn date for churners, today
otherwise), so the signals lead up to a churn in any month, never past it.
"""

from __future__ import annotations

import numpy as np

from tenure_demo import catalog
from tenure_demo.copybin import Column, VarBytes, concat, digits, number, vocab
from tenure_demo.population import (
    CAUSES,
    DATA_BY_PID,
    DURATION_BY_PID,
    FEE_BY_PID,
    GROUPS,
    PLAN_DATA,
    PLAN_FEE,
    PLAN_IDS,
    PLAN_SMS,
    PLAN_VOICE,
    PRODUCT_ID,
    SLOT,
    SLOTS,
    STATUS,
    VOICE_BY_PID,
    G,
    Population,
)

NAT_D = np.datetime64("NaT", "D")
LOCAL_OFFSET = np.timedelta64(8, "h")  # Asia/Shanghai, no DST

_SURNAME_W = 1.0 / np.arange(1, len(catalog.SURNAMES) + 1) ** 0.9
_SURNAME_W /= _SURNAME_W.sum()
_SURNAMES = vocab(catalog.SURNAMES)
_GIVEN_M = vocab(catalog.GIVEN_MALE)
_GIVEN_F = vocab(catalog.GIVEN_FEMALE)
_GENDER = vocab(["F", "M"])
_STATUS = vocab(STATUS)
_TIER1 = vocab(["star1"])
_REGION_CODES = np.array([int(code) for _, code, _ in catalog.DISTRICTS], np.int64)
_ADDR_PREFIX = vocab([f"浙江省绍兴市{d}" for d, _, _ in catalog.DISTRICTS])
_ROADS = vocab(catalog.ROADS)
_NUM_SUFFIX = vocab(["号"])
_MAIL = vocab(["@qq.com", "@163.com", "@139.com"])
_ATTRS = vocab(
    ["{}"]
    + [f'{{"planted": "{g}"}}' for g in GROUPS[1:]]
    + [f'{{"planted": "drifter", "cause": "{c}"}}' for c in CAUSES]
)
_CHECK = np.frombuffer(b"10X98765432", np.uint8)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], np.int64)

_HANDSET_PAIRS = [
    (brand, model, band)
    for brand, bands in catalog.HANDSETS.items()
    for band, models in bands.items()
    for model in models
]
_HS_BRAND = vocab([b for b, _, _ in _HANDSET_PAIRS])
_HS_MODEL = vocab([m for _, m, _ in _HANDSET_PAIRS])
_HS_BAND = vocab(catalog.PRICE_BANDS)
_HS_BY_BAND = [np.array([i for i, (_, _, b) in enumerate(_HANDSET_PAIRS) if b == band]) for band in catalog.PRICE_BANDS]
_COMPETITORS = vocab(catalog.COMPETITORS)
_CATEGORIES = vocab(catalog.COMPLAINT_CATEGORIES)
_CHANNELS = vocab(catalog.COMPLAINT_CHANNELS)
_SUB_CHANNELS = vocab(catalog.SUB_CHANNELS)
_SUB_STATUS = vocab(["active", "cancelled", "ended"])


def _ymd(d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = d.astype("datetime64[Y]")
    m = d.astype("datetime64[M]")
    return (
        y.astype(np.int64) + 1970,
        (m - y.astype("datetime64[M]")).astype(np.int64) + 1,
        (d - m.astype("datetime64[D]")).astype(np.int64) + 1,
    )


def _local_times(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    """Timestamps (UTC, µs) on the given local days, during waking hours."""
    secs = rng.integers(8 * 3600, 22 * 3600, len(days))
    local = days.astype("datetime64[us]") + secs.astype("timedelta64[s]")
    return local - LOCAL_OFFSET


def _days_between(rng: np.random.Generator, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    span = np.maximum(1, (end - start).astype(np.int64))
    return start + (rng.random(len(span)) * span).astype(np.int64).astype("timedelta64[D]")


# --- customers ---------------------------------------------------------------------------------


def customers(pop: Population, lo: int, hi: int, rng: np.random.Generator, branch_ids: np.ndarray) -> list[Column]:
    n = hi - lo
    ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
    s = slice(lo, hi)
    male = pop.male[s]
    phone = digits(13_800_000_000 + ids, 11)
    last4 = digits(ids % 10_000, 4)

    surname = _SURNAMES.take(rng.choice(len(catalog.SURNAMES), size=n, p=_SURNAME_W))
    g1 = np.where(male, 0, 1)
    first = _pick_gendered(rng, g1)
    second = _pick_gendered(rng, g1)
    second.lens = np.where(rng.random(n) < 0.7, second.lens, 0).astype(np.int32)
    name = concat(surname, first, second)

    y, m, d = _ymd(pop.birthday[s])
    seq = rng.integers(0, 100, n) * 10 + np.where(male, rng.integers(0, 5, n) * 2 + 1, rng.integers(0, 5, n) * 2)
    region = _REGION_CODES[pop.branch[s] % len(_REGION_CODES)]
    body = digits((region * 100_000_000 + y * 10_000 + m * 100 + d) * 1000 + seq, 17).mat
    check = _CHECK[((body.astype(np.int64) - 48) * _ID_WEIGHTS).sum(axis=1) % 11]
    id_number = VarBytes(np.concatenate([body, check[:, None]], axis=1), np.full(n, 18, np.int32))

    email = concat(number(rng.integers(10_000_000, 3_999_999_999, n)), _MAIL.take(rng.integers(0, 3, n)))
    address = concat(
        _ADDR_PREFIX.take(pop.branch[s] % len(catalog.DISTRICTS)),
        _ROADS.take(rng.integers(0, len(catalog.ROADS), n)),
        number(rng.integers(1, 600, n), 4),
        _NUM_SUFFIX.take(np.zeros(n, np.intp)),
    )
    group = pop.group[s].astype(np.intp)
    attr = np.where(group == G["drifter"], len(GROUPS) + pop.cause[s], group)

    churned_on = pop.churned_on[s]
    contract_end = pop.contract_end[s]
    return [
        Column("id", "int8", ids),
        Column("phone", "text", phone),
        Column("phone_last4", "text", last4),
        Column("id_number", "text", id_number),
        Column("name", "text", name),
        Column("gender", "text", _GENDER.take(male.astype(np.intp))),
        Column("birthday", "date", pop.birthday[s]),
        Column("join_date", "date", pop.join_date[s]),
        Column("status", "text", _STATUS.take(pop.status[s].astype(np.intp))),
        Column("churned_on", "date", np.where(np.isnat(churned_on), pop.as_of, churned_on), nulls=np.isnat(churned_on)),
        Column("tier", "text", _TIER1.take(np.zeros(n, np.intp))),
        Column("branch_id", "int4", branch_ids[pop.branch[s]]),
        Column("plan_id", "int4", PLAN_IDS[pop.plan_now[s]]),
        Column(
            "contract_end",
            "date",
            np.where(np.isnat(contract_end), pop.as_of, contract_end),
            nulls=np.isnat(contract_end),
        ),
        Column("do_not_disturb", "bool", pop.dnd[s].astype(np.uint8)),
        Column("email", "text", email, nulls=rng.random(n) >= 0.15),
        Column("address", "text", address, nulls=rng.random(n) >= 0.7),
        Column("attributes", "jsonb", _ATTRS.take(attr)),
    ]


def _pick_gendered(rng: np.random.Generator, female: np.ndarray) -> VarBytes:
    m = _GIVEN_M.take(rng.integers(0, _GIVEN_M.n, len(female)))
    f = _GIVEN_F.take(rng.integers(0, _GIVEN_F.n, len(female)))
    return VarBytes(np.where(female[:, None] == 1, f.mat, m.mat), np.where(female == 1, f.lens, m.lens))


# --- monthly usage -----------------------------------------------------------------------------


def usage(pop: Population, lo: int, hi: int, rng: np.random.Generator) -> dict[str, list[Column] | None]:
    """Usage and bills per customer and month up to the customer's end month (a churner has no
    row after the month they left); the planted behaviours live here. Built as full n × months
    matrices (one code path, same random draws whatever the churn month), then masked."""
    n, M = hi - lo, pop.m
    s = slice(lo, hi)
    grp = pop.group[s]
    is_ = {name: grp == i for name, i in G.items()}
    midx = np.arange(M)[None, :]
    days = pop.month_days[None, :].repeat(n, 0)

    plan = np.where(midx >= pop.downgrade_month[s][:, None], pop.plan_now[s][:, None], pop.plan_early[s][:, None])
    slots = pop.slots[s]
    cancelled = midx >= pop.cancel_month[s][:, None]
    addon_active = {k: np.broadcast_to(slots[:, SLOT[k]][:, None] > 0, (n, M)) for k, _ in SLOTS}
    for k in ("membership", "data_pack"):
        addon_active[k] = addon_active[k] & ~cancelled
    addon_fee = np.zeros((n, M), np.int64)
    for k in ("broadband", "membership", "data_pack", "voice_pack", "family"):
        addon_fee += np.where(addon_active[k], FEE_BY_PID[slots[:, SLOT[k]]][:, None], 0)
    pack_voice = VOICE_BY_PID[slots[:, SLOT["voice_pack"]]][:, None]
    pack_data = DATA_BY_PID[slots[:, SLOT["data_pack"]]][:, None]
    voice_allow = PLAN_VOICE[plan] + np.where(addon_active["voice_pack"], pack_voice, 0)
    data_allow = PLAN_DATA[plan] + np.where(addon_active["data_pack"], pack_data, 0)

    # how much of the (early) plan each customer naturally uses
    base_plan = pop.plan_early[s]
    age = (pop.as_of - pop.birthday[s]).astype(np.int64) / 365.25
    v_f = np.exp(rng.normal(np.log(0.55), 0.55, n)) * np.where(age > 55, 1.3, 1.0)
    d_f = np.exp(rng.normal(np.log(0.5), 0.55, n)) * np.where(age < 30, 1.25, np.where(age > 60, 0.5, 1.0))
    v_f = np.select(
        [is_["vip"], is_["high_silence"], is_["high_arpu"], is_["silent"]],
        [rng.uniform(0.6, 1.0, n), rng.uniform(0.02, 0.12, n), rng.uniform(0.04, 0.15, n), rng.uniform(0.0, 0.03, n)],
        v_f,
    )
    d_f = np.select(
        [is_["vip"], is_["high_silence"], is_["high_arpu"], is_["silent"], is_["high_payg"]],
        [
            rng.uniform(0.5, 0.9, n),
            rng.uniform(0.02, 0.12, n),
            rng.uniform(0.04, 0.15, n),
            rng.uniform(0.0, 0.005, n),
            rng.uniform(1.8, 3.5, n),
        ],
        d_f,
    )
    # outside the planted high_payg group a customer's data need saturates below 1.2x the plan's
    # (softly, from 1x): one who keeps using 2-3x the allowance and paying per use for it is a
    # 高流量 customer by definition (seed 004), and the ground truth must not call them normal
    d_f = np.where(is_["high_payg"] | (d_f <= 1.0), d_f, 1.0 + 0.2 * (1.0 - np.exp(-(d_f - 1.0) / 0.2)))
    voice_need = v_f * PLAN_VOICE[base_plan]
    data_need = d_f * PLAN_DATA[base_plan]

    # month effects: data grows ~1.5%/month, February (Spring Festival) more calls and roaming
    month_no = pop.months.astype("datetime64[M]").astype(np.int64) % 12 + 1
    festive = np.where(month_no == 2, 1.2, 1.0)[None, :]
    trend = (1.0 + 0.015 * np.arange(M))[None, :]
    mult = np.ones((n, M))
    drift = rng.uniform(0.5, 0.75, n)
    end = pop.end_month[s].astype(np.int64)
    tail = midx - (end[:, None] - 3)  # 1, 2, 3 for the three months up to the end month
    drifting = np.where(tail > 0, drift[:, None] ** np.maximum(tail, 0), 1.0)
    mult = np.where(is_["drifter"][:, None], drifting, mult)
    mild = np.where(tail > 0, 1.0 - 0.1 * np.maximum(tail, 0), 1.0)
    mult = np.where(pop.natural_churn_decline[s][:, None], mild, mult)
    at_end = midx == end[:, None]
    frac_end = np.where(at_end, pop.churn_month_frac[s][:, None], 1.0)  # the churn month is partial
    mult = mult * frac_end

    def noise(sd: float) -> np.ndarray:
        return np.exp(rng.normal(0.0, sd, (n, M)))

    voice = np.rint(voice_need[:, None] * mult * festive * noise(0.18)).astype(np.int64)
    data = np.rint(data_need[:, None] * mult * trend * noise(0.2)).astype(np.int64)
    sms_base = np.where(is_["silent"], 0.3, np.where(age > 50, 12, 6))
    sms = rng.poisson(sms_base[:, None] * np.minimum(mult, 1.0))

    # long-distance and roaming beyond the plan (cheap plans only), international roaming for a few
    cheap = plan < catalog.PLAN_INCLUDES_ROAMING_FROM
    ld_mean = np.select(
        [is_["high_tariff"], is_["vip"]],
        [rng.uniform(3000, 9000, n), 0.0],
        np.where(rng.random(n) < 0.25, rng.uniform(200, 1500, n), 0.0),
    )
    roam_mean = np.select(
        [is_["high_tariff"], is_["vip"]],
        [rng.uniform(4000, 12000, n), 0.0],
        np.where(rng.random(n) < 0.1, rng.uniform(300, 2500, n), 0.0),
    )
    long_distance = np.where(cheap, np.rint(ld_mean[:, None] * mult * noise(0.35)), 0).astype(np.int64)
    roaming = np.where(
        cheap & (rng.random((n, M)) < np.where(is_["high_tariff"], 0.9, 0.5)[:, None]),
        np.rint(roam_mean[:, None] * mult * festive * noise(0.4)),
        0,
    ).astype(np.int64)
    intl = is_["vip"][:, None] & (rng.random((n, M)) < 0.04)
    roaming += np.where(intl, rng.integers(5000, 30000, (n, M)), 0)

    over_mb = np.maximum(0, data - data_allow)
    payg = (over_mb * catalog.PAYG_FEN_PER_GB + 1023) // 1024
    other = (
        np.maximum(0, voice - voice_allow) * catalog.VOICE_OVER_FEN_PER_MIN
        + np.maximum(0, sms - PLAN_SMS[plan]) * catalog.SMS_OVER_FEN
    )
    vas = np.where(rng.random(n) < 0.12, rng.choice([500, 600, 1000], n), 0)  # ring-back tones and the like
    other += vas[:, None]
    plan_fee = np.rint(PLAN_FEE[plan] * frac_end).astype(np.int64)
    addon_fee = np.rint(addon_fee * frac_end).astype(np.int64)
    bill = plan_fee + addon_fee + other + roaming + long_distance + payg
    floor = np.where(slots[:, SLOT["contract"]] == PRODUCT_ID["CONTRACT-MIN-199"], 19900, 0)
    top_up_diff = np.maximum(0, floor[:, None] - bill)  # 保底补差: minimum-spend contracts pay the gap
    other += top_up_diff
    bill += top_up_diff

    # balance and top-ups month by month (vectorised over customers)
    balance = np.rint(np.exp(rng.normal(np.log(6000), 0.8, n))).astype(np.int64)
    balance = np.where(is_["silent"], rng.integers(5000, 40000, n), balance)
    balance = np.where(pop.status[s] == 1, 0, balance)
    step = rng.choice([3000, 5000, 10000, 20000], n, p=[0.2, 0.4, 0.3, 0.1])
    topup = np.zeros((n, M), np.int64)
    topup_count = np.zeros((n, M), np.int64)
    balance_end = np.zeros((n, M), np.int64)
    stop_from = np.full(n, M)
    stop_from = np.where(is_["drifter"], end - 1, stop_from)
    stop_from = np.where(pop.status[s] == 2, np.minimum(stop_from, end), stop_from)
    stop_from = np.where(pop.status[s] == 1, M - 2, stop_from)
    stop_from = np.where(is_["silent"] & (rng.random(n) < 0.7), 0, stop_from)
    autopay = is_["vip"] | (rng.random(n) < 0.1)
    for m in range(M):
        pre = balance - bill[:, m]
        wants = (pre < 2000) & (m < stop_from)
        amount = np.where(autopay, bill[:, m], -(-(2000 + bill[:, m] - pre) // step) * step)
        amount = np.where(wants | (autopay & (m < stop_from)), np.maximum(amount, 0), 0)
        topup[:, m] = amount
        topup_count[:, m] = np.where(amount > 0, 1 + (amount >= 3 * step), 0)
        balance = pre + amount
        balance_end[:, m] = balance

    bb = addon_active["broadband"] & (slots[:, SLOT["broadband"]] > 0)[:, None]
    broadband = np.where(bb, np.rint(np.exp(rng.normal(np.log(180), 0.6, (n, M))) * mult), 0).astype(np.int64)

    active = days - rng.binomial(days, np.where(is_["high_silence"] | is_["high_arpu"], 0.35, 0.06)[:, None])
    active = np.minimum(active, np.rint(days * np.minimum(1.0, mult + 0.15))).astype(np.int64)
    active = np.where(is_["silent"][:, None], rng.poisson(1.0, (n, M)), active)
    active = np.clip(active, 0, days)
    active = np.where((voice == 0) & (data == 0) & (sms == 0), 0, np.maximum(active, 1))

    daily = _daily(
        pop,
        lo,
        hi,
        rng,
        voice_need,
        data_need,
        ld_mean,
        roam_mean,
        is_["high_tariff"],
        data_allow[:, -1],
        active[:, -1] / days[:, -1],
        mult[:, -1],
        trend[0, -1] * 1.015,
    )
    keep = None if (end == M - 1).all() else np.flatnonzero((midx <= end[:, None]).T)

    def flat(a: np.ndarray) -> np.ndarray:  # month-major: each partition receives one ascending run
        out = np.ascontiguousarray(np.asarray(a).T).reshape(-1)
        return out if keep is None else out[keep]

    ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
    monthly = [
        Column("customer_id", "int8", flat(np.broadcast_to(ids[:, None], (n, M)))),
        Column("month", "date", flat(np.broadcast_to(pop.months[None, :], (n, M)))),
        Column("plan_id", "int4", flat(PLAN_IDS[plan])),
        Column("voice_min", "int4", flat(voice)),
        Column("data_mb", "int4", flat(data)),
        Column("sms", "int4", flat(sms)),
        Column("voice_allowance_min", "int4", flat(voice_allow)),
        Column("data_allowance_mb", "int4", flat(data_allow)),
        Column("roaming_fen", "int8", flat(roaming)),
        Column("long_distance_fen", "int8", flat(long_distance)),
        Column("payg_data_fen", "int8", flat(payg)),
        Column("plan_fee_fen", "int8", flat(plan_fee)),
        Column("addon_fee_fen", "int8", flat(addon_fee)),
        Column("other_fee_fen", "int8", flat(other)),
        Column("bill_fen", "int8", flat(bill)),
        Column("topup_fen", "int8", flat(topup)),
        Column("topup_count", "int4", flat(topup_count)),
        Column("balance_end_fen", "int8", flat(balance_end)),
        Column("broadband_gb", "int4", flat(broadband)),
        Column("active_days", "int4", flat(active)),
    ]
    return {"monthly_usage": monthly, "daily_usage": daily}


DAILY_MIN_DAYS = 7  # as the four-high daily list's default window (programme settings four_high)


def _daily(
    pop: Population,
    lo: int,
    hi: int,
    rng: np.random.Generator,
    voice_need: np.ndarray,
    data_need: np.ndarray,
    ld_mean: np.ndarray,
    roam_mean: np.ndarray,
    high_tariff: np.ndarray,
    data_allow: np.ndarray,
    active_share: np.ndarray,
    mult: np.ndarray,
    trend: float,
) -> list[Column] | None:
    """Daily usage of the current (partial) month, day 1 up to the day before `as_of`, and at
    least the DAILY_MIN_DAYS days before `as_of` (early in a month they reach into the last one),
    for customers still active then: each customer keeps last month's habits (same needs, share of
    active days and planted behaviour), spread over active days with day-to-day noise. Pay-per-use
    data is charged on the day the month's cumulative data passes the allowance."""
    month_first = pop.as_of.astype("datetime64[M]").astype("datetime64[D]")
    first = min(month_first, pop.as_of - np.timedelta64(DAILY_MIN_DAYS, "D"))
    D = int(((month_first.astype("datetime64[M]") + 1).astype("datetime64[D]") - month_first).astype(np.int64))
    E = int((pop.as_of - first).astype(np.int64))
    n = hi - lo
    day = first + np.arange(E).astype("timedelta64[D]")
    in_month = (day >= month_first)[None, :]
    alive = day[None, :] < pop.until[lo:hi][:, None]  # a churner has no day after the churn day
    p = np.clip(active_share, 0.02, 1.0)[:, None]
    on = (rng.random((n, E)) < p) & alive
    scale = np.where(on, np.exp(rng.normal(-0.125, 0.5, (n, E))) / (p * D), 0.0)
    m = mult[:, None]
    voice = np.rint(voice_need[:, None] * m * scale).astype(np.int64)
    data = np.rint(data_need[:, None] * m * trend * scale).astype(np.int64)
    sms = rng.poisson(np.where(on, 0.25, 0.0))
    cheap = (pop.plan_now[lo:hi] < catalog.PLAN_INCLUDES_ROAMING_FROM)[:, None]
    ld = np.where(cheap, np.rint(ld_mean[:, None] * m * scale), 0).astype(np.int64)
    roams = rng.random(n) < np.where(high_tariff, 0.9, 0.5)
    roaming = np.where(cheap & roams[:, None], np.rint(roam_mean[:, None] * m * scale), 0).astype(np.int64)
    # pay-per-use data: the current month's cumulative data past the allowance (the days taken
    # from the last month carry none: its bill is in monthly_usage)
    cum = np.cumsum(np.where(in_month, data, 0), axis=1)
    over = np.maximum(0, cum - data_allow[:, None])
    payg_cum = (over * catalog.PAYG_FEN_PER_GB + 1023) // 1024
    payg = np.diff(payg_cum, axis=1, prepend=0)
    keep = on | (payg > 0)
    rows, cols = np.nonzero(keep)
    if len(rows) == 0:
        return None
    ids = np.arange(lo + 1, hi + 1, dtype=np.int64)
    return [
        Column("customer_id", "int8", ids[rows]),
        Column("day", "date", day[cols]),
        Column("voice_min", "int4", voice[rows, cols]),
        Column("data_mb", "int4", data[rows, cols]),
        Column("sms", "int4", sms[rows, cols]),
        Column("roaming_fen", "int8", roaming[rows, cols]),
        Column("long_distance_fen", "int8", ld[rows, cols]),
        Column("payg_data_fen", "int8", payg[rows, cols]),
    ]


# --- events: handsets, complaints, competitor calls, subscriptions ----------------------------


def _expand(pop: Population, table: str, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row ids, owning customer index, position of the row within its customer)."""
    off = pop.offsets[table]
    counts = np.diff(off[lo : hi + 1])
    owner = np.repeat(np.arange(lo, hi), counts)
    ids = np.arange(off[lo] + 1, off[hi] + 1, dtype=np.int64)
    pos = np.arange(len(owner)) - np.repeat(off[lo:hi] - off[lo], counts)
    return ids, owner, pos


def handsets(pop: Population, lo: int, hi: int, rng: np.random.Generator) -> list[Column] | None:
    ids, owner, pos = _expand(pop, "handsets", lo, hi)
    if len(ids) == 0:
        return None
    k = len(ids)
    count = pop.n_handsets[owner]
    newest = count - 1 - pos  # 0 for the current handset
    drifter = pop.group[owner] == G["drifter"]
    current_age = np.where(drifter, rng.integers(5, 90, k), np.exp(rng.normal(np.log(420), 0.6, k)).astype(np.int64))
    gap = rng.integers(300, 1000, k)
    started = pop.until[owner] - (current_age + newest * gap).astype("timedelta64[D]")
    started = np.maximum(started, pop.join_date[owner])
    age = (pop.as_of - pop.birthday[owner]).astype(np.int64) / 365.25
    band = (pop.plan_now[owner] + 1) // 2 + rng.integers(-1, 2, k) - (age > 60) - (newest > 0)
    band = np.clip(band, 0, 3)
    pick = np.empty(k, np.intp)
    for b, choices in enumerate(_HS_BY_BAND):
        sel = band == b
        pick[sel] = choices[rng.integers(0, len(choices), int(sel.sum()))]
    dual = np.where(drifter & (newest == 0), True, rng.random(k) < 0.7)
    return [
        Column("id", "int8", ids),
        Column("customer_id", "int8", owner + 1),
        Column("brand", "text", _HS_BRAND.take(pick)),
        Column("model", "text", _HS_MODEL.take(pick)),
        Column("price_band", "text", _HS_BAND.take(band.astype(np.intp))),
        Column("dual_sim", "bool", dual.astype(np.uint8)),
        Column("started_on", "date", started),
    ]


def _recent_or_window(
    pop: Population, owner: np.ndarray, recent_days: int, recent: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Days in the `recent_days` before the owner's end (churn day included), or anywhere from the
    first usage month to the end."""
    end = pop.until[owner]
    start = np.where(recent, end - np.timedelta64(recent_days, "D"), pop.months[0])
    start = np.minimum(start, end - np.timedelta64(1, "D"))
    return _days_between(rng, start, end)


def complaints(pop: Population, lo: int, hi: int, rng: np.random.Generator) -> list[Column] | None:
    ids, owner, _ = _expand(pop, "complaints", lo, hi)
    if len(ids) == 0:
        return None
    k = len(ids)
    grp = pop.group[owner]
    drifter = grp == G["drifter"]
    churner = pop.status[owner] == 2
    days = _recent_or_window(pop, owner, 110, drifter | churner, rng)
    # categories: network / tariff / service / billing
    generic = rng.choice(4, k, p=[0.35, 0.25, 0.25, 0.15])
    by_cause = np.array([0, 1, 2])[pop.cause[owner]]
    cat = np.where(drifter & (rng.random(k) < 0.75), by_cause, generic)
    tariffish = (grp == G["high_tariff"]) | (grp == G["high_payg"]) | (grp == G["high_arpu"])
    cat = np.where(tariffish & (rng.random(k) < 0.8), rng.choice([1, 3], k), cat)
    unhappy = drifter | churner
    sat = np.where(unhappy, rng.integers(1, 4, k), rng.integers(3, 6, k))
    return [
        Column("id", "int8", ids),
        Column("customer_id", "int8", owner + 1),
        Column("occurred_at", "timestamptz", _local_times(rng, days)),
        Column("category", "text", _CATEGORIES.take(cat)),
        Column("channel", "text", _CHANNELS.take(rng.choice(5, k, p=[0.6, 0.15, 0.15, 0.08, 0.02]))),
        Column("resolved", "bool", (rng.random(k) < np.where(unhappy, 0.55, 0.9)).astype(np.uint8)),
        Column("satisfaction", "int4", sat, nulls=rng.random(k) < 0.2),
    ]


def competitor_calls(pop: Population, lo: int, hi: int, rng: np.random.Generator) -> list[Column] | None:
    ids, owner, _ = _expand(pop, "competitor_calls", lo, hi)
    if len(ids) == 0:
        return None
    k = len(ids)
    recent = (pop.group[owner] == G["drifter"]) | (pop.status[owner] == 2)
    days = _recent_or_window(pop, owner, 90, recent, rng)
    return [
        Column("id", "int8", ids),
        Column("customer_id", "int8", owner + 1),
        Column("called_at", "timestamptz", _local_times(rng, days)),
        Column("competitor", "text", _COMPETITORS.take(rng.choice(3, k, p=[0.45, 0.45, 0.1]))),
        Column("duration_s", "int4", np.exp(rng.normal(np.log(150), 0.7, k)).astype(np.int64) + 5),
    ]


_USAGE_KINDS = {"broadband", "membership", "data_pack", "voice_pack"}


def subscriptions(pop: Population, lo: int, hi: int, rng: np.random.Generator) -> list[Column] | None:
    ids, owner, _ = _expand(pop, "subscriptions", lo, hi)
    if len(ids) == 0:
        return None
    k = len(ids)
    rows, slot = np.nonzero(pop.slots[lo:hi] > 0)  # row-major: same order as _expand
    pid = pop.slots[lo:hi][rows, slot]
    grp = pop.group[owner]
    dur = DURATION_BY_PID[pid]
    window0 = pop.months[0]
    start = _days_between(rng, np.maximum(pop.join_date[owner], window0 - np.timedelta64(720, "D")), window0)
    is_contract = slot == SLOT["contract"]
    contract_end = pop.contract_end[owner]
    start = np.where(is_contract, contract_end - (dur * 30.4).astype(np.int64).astype("timedelta64[D]"), start)
    ends = np.where(is_contract, contract_end, NAT_D)
    ends = np.where(slot == SLOT["recharge"], start + (dur * 30.4).astype(np.int64).astype("timedelta64[D]"), ends)

    cancelled = np.isin(slot, [SLOT["membership"], SLOT["data_pack"]]) & (grp == G["drifter"])
    until = pop.until[owner]
    last_day = until - np.timedelta64(1, "D")  # a churner's churn day
    cancel_day = pop.months[np.minimum(pop.cancel_month[owner], pop.m - 1)] + rng.integers(0, 10, k).astype(
        "timedelta64[D]"
    )
    # a churner's subscriptions end on the churn day (those cancelled before it stay cancelled)
    churner = pop.status[owner] == 2
    cancel_day = np.where(churner, np.minimum(cancel_day, last_day), cancel_day)
    start = np.where(churner, np.minimum(start, last_day), start)
    ends = np.where(churner & ~cancelled & (np.isnat(ends) | (ends > last_day)), last_day, ends)
    status = np.where(cancelled, 1, np.where(~np.isnat(ends) & (ends < pop.as_of), 2, 0))
    usage_kind = np.isin(slot, [SLOT[s] for s in _USAGE_KINDS])
    last_used = until - rng.integers(1, 20, k).astype("timedelta64[D]")
    idle = (grp == G["high_silence"]) | (grp == G["silent"])
    last_used = np.where(idle, until - rng.integers(120, 400, k).astype("timedelta64[D]"), last_used)
    last_used = np.where(cancelled, cancel_day - rng.integers(5, 30, k).astype("timedelta64[D]"), last_used)
    last_used = np.maximum(last_used, start)
    never = ~usage_kind | (idle & (rng.random(k) < 0.6))
    one_time = np.array([0] + [p["one_time_fee_fen"] for p in catalog.PRODUCTS], np.int64)[pid]
    charge = np.where(one_time > 0, one_time, FEE_BY_PID[pid])
    cancelled_at = _local_times(rng, cancel_day)
    return [
        Column("id", "int8", ids),
        Column("customer_id", "int8", owner + 1),
        Column("product_id", "int4", pid),
        Column("status", "text", _SUB_STATUS.take(status)),
        Column("starts_on", "date", start),
        Column("ends_on", "date", np.where(np.isnat(ends), start, ends), nulls=np.isnat(ends)),
        Column("cancelled_at", "timestamptz", cancelled_at, nulls=~cancelled),
        Column("channel", "text", _SUB_CHANNELS.take(rng.choice(6, k, p=[0.4, 0.25, 0.15, 0.08, 0.07, 0.05]))),
        Column("charge_fen", "int8", charge),
        Column("last_used_on", "date", last_used, nulls=never),
    ]


BUILDERS = {
    "monthly_usage": usage,
    "handsets": handsets,
    "complaints": complaints,
    "competitor_calls": competitor_calls,
    "subscriptions": subscriptions,
}
