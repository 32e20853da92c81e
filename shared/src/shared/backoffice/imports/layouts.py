"""Column layouts of the billing-system exports, and the cheap per-field checks.

A file starts with a header row naming its columns in any order. Required columns must be
present; optional columns may be left out (an absent column is never overwritten on re-import,
and gets its default on insert). Unknown columns fail the file: a typo in a header must not
silently drop data. Every check returns the value as the staging table wants it or raises
ValueError with a reason a person can act on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

from shared import clock
from shared.touches.outcomes import OUTCOMES

Check = Callable[[str], str | None]

INT_DIGITS = 9  # every count/amount column is a PostgreSQL integer or bigint; 9 digits fit both


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # CSV header
    target: str  # staging (and table) column
    sqltype: str  # staging column type
    check: Check
    required: bool = False
    kind: str = "text"  # "uint" columns take the vectorised fast path
    doc: str = ""


@dataclass(frozen=True, slots=True)
class Layout:
    kind: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # staging columns identifying a row
    doc: str = ""
    require_any: tuple[str, ...] = field(default=())  # at least one of these must be present
    # (staging expression, target table, target expression) of the facts' date, for the
    # data-quality report's months and late-arriving months; None for master data
    period: tuple[str, str, str] | None = None

    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}


def _uint(name: str, *, max_value: int | None = None) -> Callable[[str], str]:
    def check(v: str) -> str:
        if not v.isdigit() or len(v) > INT_DIGITS:
            raise ValueError(f"{name} must be a whole number ≥ 0 (got {v[:20]!r})")
        if max_value is not None and int(v) > max_value:
            raise ValueError(f"{name} must be at most {max_value} (got {v})")
        return v

    return check


def _sint(name: str) -> Check:
    def check(v: str) -> str:
        body = v[1:] if v.startswith("-") else v
        if not body.isdigit() or len(body) > INT_DIGITS:
            raise ValueError(f"{name} must be a whole number (got {v[:20]!r})")
        return v

    return check


def _id(name: str) -> Check:
    def check(v: str) -> str:
        if not v.isdigit() or len(v) > 15 or v.strip("0") == "":
            raise ValueError(f"{name} must be a positive whole number (got {v[:20]!r})")
        return v

    return check


@lru_cache(maxsize=4096)
def _parse_date(v: str) -> str:
    return date.fromisoformat(v.replace("/", "-")).isoformat()


def _date(name: str, *, required: bool) -> Check:
    def check(v: str) -> str | None:
        if v == "":
            if required:
                raise ValueError(f"{name} is required")
            return None
        try:
            d = _parse_date(v)
        except ValueError:
            raise ValueError(f"{name} must be a date YYYY-MM-DD (got {v[:20]!r})") from None
        if not ("1900-01-01" <= d <= "2100-12-31"):
            raise ValueError(f"{name} is out of range (got {v})")
        return d

    return check


@lru_cache(maxsize=1024)
def _month(v: str) -> str:
    m = re.fullmatch(r"(\d{4})-?(\d{2})(?:-01)?", v)
    if not m or not (1 <= int(m.group(2)) <= 12) or not (2000 <= int(m.group(1)) <= 2100):
        raise ValueError(f"bill_month must be YYYY-MM (got {v[:20]!r})")
    return f"{m.group(1)}-{m.group(2)}-01"


def _month_check(v: str) -> str:
    return _month(v)


@lru_cache(maxsize=65536)
def _parse_ts(v: str) -> str:
    ts = datetime.fromisoformat(v.replace("/", "-"))
    if ts.tzinfo is None:  # billing exports are in local time
        return ts.isoformat(sep=" ") + "+08:00"
    return ts.isoformat(sep=" ")


def _timestamp(name: str) -> Check:
    def check(v: str) -> str:
        try:
            return _parse_ts(v)
        except ValueError:
            raise ValueError(f"{name} must be a date-time YYYY-MM-DD HH:MM:SS (got {v[:25]!r})") from None

    return check


def _text(name: str, max_len: int, *, required: bool) -> Check:
    def check(v: str) -> str | None:
        v = v.strip()
        if not v:
            if required:
                raise ValueError(f"{name} is required")
            return None
        if len(v) > max_len:
            raise ValueError(f"{name} is longer than {max_len} characters")
        return v

    return check


def _enum(name: str, values: tuple[str, ...], *, default: str | None = None) -> Check:
    allowed = frozenset(values)

    def check(v: str) -> str | None:
        v = v.strip().lower()
        if v == "" and default is not None:
            return default
        if v not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(values)} (got {v[:20]!r})")
        return v

    return check


_TRUE = {"1", "y", "yes", "true", "t"}
_FALSE = {"0", "n", "no", "false", "f", ""}


def _bool(name: str) -> Check:
    def check(v: str) -> str:
        low = v.strip().lower()
        if low in _TRUE:
            return "t"
        if low in _FALSE:
            return "f"
        raise ValueError(f"{name} must be 1/0, Y/N or true/false (got {v[:10]!r})")

    return check


_PHONE = re.compile(r"^1[3-9]\d{9}$")
_IDNUM = re.compile(r"^\d{17}[\dXx]$")
_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")
_RECORD_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,80}$")


def _regex(name: str, pattern: re.Pattern[str], what: str, *, required: bool) -> Check:
    def check(v: str) -> str | None:
        v = v.strip()
        if v == "" and not required:
            return None
        if not pattern.match(v):
            raise ValueError(f"{name} must be {what}")
        return v

    return check


def _opt_uint(name: str, *, max_value: int, min_value: int = 0) -> Check:
    inner = _uint(name, max_value=max_value)

    def check(v: str) -> str | None:
        if v.strip() == "":
            return None
        out = inner(v.strip())
        if int(out) < min_value:
            raise ValueError(f"{name} must be at least {min_value} (got {v})")
        return out

    return check


def _u(name: str, doc: str, *, required: bool = False, max_value: int | None = None) -> Column:
    return Column(
        name,
        name,
        "bigint" if name.endswith("_fen") else "integer",
        _uint(name, max_value=max_value),
        required,
        "uint" if max_value is None else "text",
        doc,
    )


SUBSCRIBER_ID = Column(
    "subscriber_id", "customer_id", "bigint", _id("subscriber_id"), True, "text", "billing subscriber id = customers.id"
)
BILL_MONTH = Column("bill_month", "month", "date", _month_check, True, "text", "YYYY-MM (also YYYYMM)")

FEE_COLUMNS = (
    _u("plan_fee_fen", "monthly plan fee (fen)"),
    _u("addon_fee_fen", "add-on packs (fen)"),
    _u("roaming_fen", "roaming charges (fen)"),
    _u("long_distance_fen", "long-distance charges (fen)"),
    _u("payg_data_fen", "pay-per-use data charges (fen)"),
    _u("other_fee_fen", "other charges (fen)"),
    _u("topup_fen", "top-ups received in the month (fen)"),
    _u("topup_count", "number of top-ups"),
    Column(
        "balance_end_fen",
        "balance_end_fen",
        "bigint",
        _sint("balance_end_fen"),
        False,
        "text",
        "account balance at month end (fen, may be negative)",
    ),
)

USAGE_COLUMNS = (
    _u("voice_min", "voice minutes used", required=True),
    _u("data_mb", "mobile data used (MB)", required=True),
    _u("sms", "SMS sent", required=True),
    _u("voice_allowance_min", "plan voice allowance (minutes)"),
    _u("data_allowance_mb", "plan data allowance (MB)"),
    _u("broadband_gb", "fixed broadband traffic (GB)"),
    _u("active_days", "days with any activity (0–31)", max_value=31),
)

PLAN_CODE = Column(
    "plan_code",
    "plan_code",
    "text",
    _regex("plan_code", _CODE, "a product code", required=False),
    False,
    "text",
    "products.code of the plan (kind plan)",
)


def _opt_timestamp(name: str) -> Check:
    inner = _timestamp(name)

    def check(v: str) -> str | None:
        return None if v.strip() == "" else inner(v.strip())

    return check


def _local(column: str, table: str) -> tuple[str, str, str]:
    """The period of a timestamp column: its local (Asia/Shanghai) time in staging and target."""
    return (f"({column} AT TIME ZONE :tz)", table, f"({column} AT TIME ZONE :tz)")


LOCAL_TIME = f"YYYY-MM-DD HH:MM:SS local time ({clock.TZ_NAME}) unless an offset is given"
RECORD_ID = Column(
    "record_id",
    "source_ref",
    "text",
    _regex("record_id", _RECORD_ID, "the source system's record id (1-80 of A-Z a-z 0-9 _ . : -)", required=True),
    True,
    "text",
    "the source system's record id: loading it again updates the same row, never adds one",
)
CONTACT_CHANNELS = ("hall", "outbound_call", "sms", "app_push", "hotline", "partner_app", "manager_visit")

LAYOUTS: dict[str, Layout] = {
    "subscribers": Layout(
        "subscribers",
        (
            SUBSCRIBER_ID,
            Column(
                "msisdn",
                "phone",
                "text",
                _regex("msisdn", _PHONE, "an 11-digit mobile number", required=True),
                True,
                "text",
                "mobile number, 11 digits",
            ),
            Column("name", "name", "text", _text("name", 100, required=True), True, "text", "full name"),
            Column(
                "id_number",
                "id_number",
                "text",
                _regex("id_number", _IDNUM, "an 18-character national ID", required=False),
                False,
                "text",
                "national ID (18 characters)",
            ),
            Column(
                "gender",
                "gender",
                "text",
                _regex("gender", re.compile(r"^[MF]$"), "M or F", required=False),
                False,
                "text",
                "M / F",
            ),
            Column("birth_date", "birthday", "date", _date("birth_date", required=False), False, "text", "YYYY-MM-DD"),
            Column(
                "join_date",
                "join_date",
                "date",
                _date("join_date", required=True),
                True,
                "text",
                "network join date YYYY-MM-DD",
            ),
            Column(
                "status",
                "status",
                "text",
                _enum("status", ("active", "suspended", "churned"), default="active"),
                False,
                "text",
                "active / suspended / churned",
            ),
            Column(
                "churn_date", "churned_on", "date", _date("churn_date", required=False), False, "text", "YYYY-MM-DD"
            ),
            PLAN_CODE,
            Column(
                "branch_code",
                "branch_code",
                "text",
                _regex("branch_code", _CODE, "an org unit code", required=False),
                False,
                "text",
                "org_units.code of the county branch",
            ),
            Column(
                "contract_end",
                "contract_end",
                "date",
                _date("contract_end", required=False),
                False,
                "text",
                "YYYY-MM-DD",
            ),
            Column(
                "do_not_disturb",
                "do_not_disturb",
                "boolean",
                _bool("do_not_disturb"),
                False,
                "text",
                "1/0: refuses outbound marketing",
            ),
            Column("email", "email", "text", _text("email", 200, required=False), False, "text", ""),
            Column("address", "address", "text", _text("address", 300, required=False), False, "text", ""),
        ),
        key=("customer_id",),
        doc="One row per subscriber (CRM/billing customer master).",
    ),
    "usage": Layout(
        "usage",
        (
            SUBSCRIBER_ID,
            BILL_MONTH,
            PLAN_CODE,
            *USAGE_COLUMNS,
            _u("bill_fen", "total bill for the month (fen)"),
            *FEE_COLUMNS,
        ),
        key=("customer_id", "month"),
        doc="One row per subscriber per month; bill columns may ride along or come in a bills file.",
        period=("month", "monthly_usage", "month"),
    ),
    "daily_usage": Layout(
        "daily_usage",
        (
            SUBSCRIBER_ID,
            Column("usage_date", "day", "date", _date("usage_date", required=True), True, "text", "YYYY-MM-DD"),
            _u("voice_min", "voice minutes used that day", required=True),
            _u("data_mb", "mobile data used that day (MB)", required=True),
            _u("sms", "SMS sent that day"),
            _u("roaming_fen", "roaming charges that day (fen)"),
            _u("long_distance_fen", "long-distance charges that day (fen)"),
            _u("payg_data_fen", "pay-per-use data charges that day (fen)"),
        ),
        key=("customer_id", "day"),
        doc="One row per subscriber per day (the daily usage summary); feeds the four-high daily list "
        "(month to date). monthly_usage stays the month's record.",
        period=("day", "daily_usage", "day"),
    ),
    "bills": Layout(
        "bills",
        (SUBSCRIBER_ID, BILL_MONTH, _u("bill_fen", "total bill for the month (fen)", required=True), *FEE_COLUMNS),
        key=("customer_id", "month"),
        doc="Monthly bill lines; updates the fee columns of monthly_usage (usage columns untouched).",
        period=("month", "monthly_usage", "month"),
    ),
    "handsets": Layout(
        "handsets",
        (
            SUBSCRIBER_ID,
            Column("brand", "brand", "text", _text("brand", 40, required=True), True, "text", "handset brand"),
            Column("model", "model", "text", _text("model", 60, required=False), False, "text", "model name"),
            Column(
                "price_band",
                "price_band",
                "text",
                _enum("price_band", ("low", "mid", "high", "flagship")),
                True,
                "text",
                "low / mid / high / flagship",
            ),
            Column("dual_sim", "dual_sim", "boolean", _bool("dual_sim"), False, "text", "1/0"),
            Column(
                "start_date",
                "started_on",
                "date",
                _date("start_date", required=True),
                True,
                "text",
                "first day the handset was seen on the network",
            ),
        ),
        key=("customer_id", "started_on"),
        doc="Handset history: one row per subscriber per handset change.",
    ),
    "complaints": Layout(
        "complaints",
        (
            SUBSCRIBER_ID,
            Column(
                "occurred_at",
                "occurred_at",
                "timestamptz",
                _timestamp("occurred_at"),
                True,
                "text",
                f"YYYY-MM-DD HH:MM:SS local time ({clock.TZ_NAME}) unless an offset is given",
            ),
            Column(
                "category",
                "category",
                "text",
                _enum("category", ("network", "tariff", "service", "billing")),
                True,
                "text",
                "network / tariff / service / billing",
            ),
            Column(
                "channel",
                "channel",
                "text",
                _text("channel", 20, required=False),
                False,
                "text",
                "hotline (default), hall, app, ...",
            ),
            Column("resolved", "resolved", "boolean", _bool("resolved"), False, "text", "1/0"),
            Column(
                "satisfaction",
                "satisfaction",
                "integer",
                _opt_uint("satisfaction", max_value=5, min_value=1),
                False,
                "text",
                "1–5, empty if not surveyed",
            ),
        ),
        key=("customer_id", "occurred_at", "category"),
        doc="Complaint tickets; a ticket is identified by subscriber, time and category.",
        period=_local("occurred_at", "complaints"),
    ),
    "competitor_calls": Layout(
        "competitor_calls",
        (
            RECORD_ID,
            SUBSCRIBER_ID,
            Column("called_at", "called_at", "timestamptz", _timestamp("called_at"), True, "text", LOCAL_TIME),
            Column(
                "competitor",
                "competitor",
                "text",
                _text("competitor", 20, required=True),
                True,
                "text",
                "the competitor whose hotline was called (e.g. CU, CT)",
            ),
            _u("duration_s", "call length in seconds"),
        ),
        key=("source_ref",),
        doc="Calls to a competitor's customer-service hotline (the churn model's strongest signal).",
        period=_local("called_at", "competitor_calls"),
    ),
    "subscriptions": Layout(
        "subscriptions",
        (
            RECORD_ID,
            SUBSCRIBER_ID,
            Column(
                "product_code",
                "product_code",
                "text",
                _regex("product_code", _CODE, "a product code", required=True),
                True,
                "text",
                "products.code of the add-on, pack, contract or membership",
            ),
            Column(
                "status",
                "status",
                "text",
                _enum("status", ("active", "cancelled", "ended"), default="active"),
                False,
                "text",
                "active / cancelled / ended",
            ),
            Column("starts_on", "starts_on", "date", _date("starts_on", required=True), True, "text", "YYYY-MM-DD"),
            Column("ends_on", "ends_on", "date", _date("ends_on", required=False), False, "text", "YYYY-MM-DD"),
            Column(
                "cancelled_at",
                "cancelled_at",
                "timestamptz",
                _opt_timestamp("cancelled_at"),
                False,
                "text",
                "when a cancellation was taken (local time)",
            ),
            Column(
                "channel",
                "channel",
                "text",
                _text("channel", 20, required=False),
                False,
                "text",
                "where it was ordered: hall, hotline, app, ... (default billing)",
            ),
            _u("charge_fen", "what the order charged (fen)"),
        ),
        key=("source_ref",),
        doc="Orders and cancellations from billing: the same record_id again updates the subscription.",
        period=("starts_on", "subscriptions", "starts_on"),
    ),
    "contacts": Layout(
        "contacts",
        (
            RECORD_ID,
            SUBSCRIBER_ID,
            Column(
                "channel",
                "channel",
                "text",
                _enum("channel", CONTACT_CHANNELS),
                True,
                "text",
                " / ".join(CONTACT_CHANNELS),
            ),
            Column("occurred_at", "occurred_at", "timestamptz", _timestamp("occurred_at"), True, "text", LOCAL_TIME),
            Column(
                "outcome",
                "outcome",
                "text",
                _enum("outcome", OUTCOMES),
                True,
                "text",
                " / ".join(OUTCOMES) + " (the touches vocabulary; SMS receipts: delivered/failed)",
            ),
            Column("notes", "notes", "text", _text("notes", 500, required=False), False, "text", "free text"),
            _u("cost_fen", "what the contact cost (fen)"),
        ),
        key=("source_ref",),
        doc="Contact history from other channels (hall, outbound centre, SMS gateway receipts); counts "
        "toward contact pressure like any touch.",
        period=_local("occurred_at", "touches"),
    ),
    "topups": Layout(
        "topups",
        (
            RECORD_ID,
            SUBSCRIBER_ID,
            Column("paid_at", "paid_at", "timestamptz", _timestamp("paid_at"), True, "text", LOCAL_TIME),
            _u("amount_fen", "amount received (fen)", required=True),
            Column(
                "kind",
                "kind",
                "text",
                _enum("kind", ("topup", "payment"), default="topup"),
                False,
                "text",
                "topup (prepaid recharge) / payment (bill payment)",
            ),
            Column(
                "channel",
                "channel",
                "text",
                _text("channel", 20, required=False),
                False,
                "text",
                "app, hall, bank, card, ...",
            ),
        ),
        key=("source_ref",),
        doc="Top-ups and payments; the month's topup_fen / topup_count of existing usage rows are "
        "recomputed from them.",
        period=_local("paid_at", "topups"),
    ),
    "plan_changes": Layout(
        "plan_changes",
        (
            RECORD_ID,
            SUBSCRIBER_ID,
            Column("changed_at", "changed_at", "timestamptz", _timestamp("changed_at"), True, "text", LOCAL_TIME),
            Column(
                "from_plan_code",
                "from_plan_code",
                "text",
                _regex("from_plan_code", _CODE, "a product code", required=False),
                False,
                "text",
                "products.code of the old plan",
            ),
            Column(
                "to_plan_code",
                "to_plan_code",
                "text",
                _regex("to_plan_code", _CODE, "a product code", required=True),
                True,
                "text",
                "products.code of the new plan (kind plan)",
            ),
            Column("channel", "channel", "text", _text("channel", 20, required=False), False, "text", ""),
        ),
        key=("source_ref",),
        doc="Plan changes; each subscriber's latest change sets their current plan.",
        period=_local("changed_at", "plan_changes"),
    ),
}

FEED_KINDS = ("competitor_calls", "subscriptions", "contacts", "topups", "plan_changes")
