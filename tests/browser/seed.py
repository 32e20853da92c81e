"""A small, fully known city for the console tests: every figure a screen shows comes from here.

Values are chosen so that the browser can check them exactly (names, counts, statuses):
20 customers in one branch with tiers TIER_PLAN and risks RISK_PLAN (cycled), customer index 8
(a high-risk, gold, held-out campaign member) churned 20 days ago, one running campaign of 10
members (8 contacted, 2 held out: retention 100 % vs 50 %), one draft campaign, merchants in
each decision state, two churn model versions, one finished import with two bad rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.passwords import hash_secret
from shared.models import (
    Ad,
    AssignmentHistory,
    AuditLog,
    Campaign,
    CampaignMember,
    ChurnModel,
    Customer,
    CustomerFeatures,
    CustomerProfile,
    CustomerTagSet,
    FourHighFlag,
    ImportJob,
    ManagerAssignment,
    Merchant,
    MonthlyUsage,
    Offer,
    OrgUnit,
    Product,
    StaffUser,
    Strategy,
    TagDefinition,
    TierRule,
    Touch,
)
from tests.fixtures.factories import create_branch, create_customer, create_org, create_product, create_staff

ADMIN_PASSWORD = "tenure-admin-dev"
STAFF_PASSWORD = "tenure-dev"
TIER_PLAN = ["star1", "star1", "star2", "star2", "star3", "star3", "star4", "star5", "gold", "diamond"]
RISK_PLAN = ["low", "low", "medium", "high", "low", "medium", "high", "low", "high", "medium"]
NAMES = ["欧阳锋", "黄药师", "洪七公", "段智兴", "王重阳", "周伯通", "郭靖", "黄蓉", "杨过", "小龙女",
         "令狐冲", "任盈盈", "张无忌", "赵敏", "乔峰", "段誉", "虚竹", "阿朱", "韦小宝", "双儿"]
CHURNED_INDEX = 8


@dataclass
class City:
    customers: list[int] = field(default_factory=list)
    star_customer: int = 0
    branch_name: str = ""
    campaign_id: int = 0
    draft_campaign_id: int = 0
    strategy_name: str = ""
    tag_codes: dict[str, str] = field(default_factory=dict)
    manager_a: int = 0
    manager_b: int = 0
    merchant_applied: int = 0
    merchant_approved: int = 0
    offer_pending: int = 0
    ad_pending: int = 0
    import_job_id: int = 0
    active_customers: int = 0
    tier_counts: dict[str, int] = field(default_factory=dict)
    risk_counts: dict[str, int] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


async def seed_city(session: AsyncSession) -> City:
    """Flushes everything; the caller commits (the live server must see it)."""
    city = City()
    staff_hash = hash_secret(STAFF_PASSWORD)
    branch, admin = await _org_and_staff(session, city, staff_hash)
    plan = await create_product(session, code="PLAN-88", name="Family 88 plan", kind="plan",
                                monthly_fee_fen=8800, data_mb=20480)
    pack = await create_product(session, code="DATA-10G", name="10GB data pack", kind="data_pack",
                                monthly_fee_fen=3000)
    await _customers(session, city, branch, plan)
    await _managers(session, city, branch, staff_hash)
    await _usage_and_flags(session, city, plan)
    await _tags_and_tiers(session, city)
    await _campaigns(session, city, admin, pack)
    await _alliance(session, city)
    await _registry_imports_audit(session, city, admin)
    await session.flush()
    return city


async def _org_and_staff(session: AsyncSession, city: City, staff_hash: str) -> tuple[OrgUnit, StaffUser]:
    _, _, branch = await create_org(session)
    branch.name = city.branch_name = "Xihu county branch"
    admin = await create_staff(session, role="admin", username="admin", password_hash=hash_secret(ADMIN_PASSWORD),
                               full_name="Console Admin")
    for role, full_name in (("auditor", "Audrey Auditor"), ("analyst", "Ana Analyst"),
                            ("strategist", "Stella Strategist"), ("operator", "Otto Operator")):
        await create_staff(session, role=role, username=role, password_hash=staff_hash, full_name=full_name)
    other_branch = await create_branch(session)  # a branch with no customers: its head sees nothing of Xihu
    await create_staff(session, role="branch_head", username="head99", org_unit_id=other_branch.id,
                       password_hash=staff_hash, full_name="Hao Head")
    return branch, admin


async def _customers(session: AsyncSession, city: City, branch: OrgUnit, plan: Product) -> None:
    for i, name in enumerate(NAMES):
        tier = TIER_PLAN[i % len(TIER_PLAN)]
        risk = RISK_PLAN[i % len(RISK_PLAN)]
        c = await create_customer(
            session, phone=f"139{(9000 + i):08d}", name=name, tier=tier, branch_id=branch.id, plan_id=plan.id,
            join_date=date(2015, 1, 1) + timedelta(days=90 * i),
        )
        city.customers.append(c.id)
        city.tier_counts[tier] = city.tier_counts.get(tier, 0) + 1
        city.risk_counts[risk] = city.risk_counts.get(risk, 0) + 1
        session.add(CustomerFeatures(
            customer_id=c.id, branch_id=branch.id, tier=tier, tenure_months=12 + 3 * i, data_mb=10240 + 1024 * i,
            competitor_calls_90d=1 if risk == "high" else 0, arpu_fen=8800 + 100 * i,
        ))
        session.add(CustomerProfile(
            customer_id=c.id, lifecycle_stage="stable" if risk == "low" else "decline",
            segment="potential_loss" if risk == "high" else "stable",
            sub_segment="tariff" if risk == "high" else None,
            churn_score={"low": 0.08, "medium": 0.41, "high": 0.83}[risk], warning_coefficient=1.2, risk_level=risk,
            top_factors=[{"factor": "competitor_calls_90d", "value": 3, "weight": 0.42},
                         {"factor": "arpu_trend_3m", "value": -0.35, "weight": 0.21}],
            four_high=["payg_data"] if i % 4 == 0 else [], preferred_channel="app_push", arpu_fen=8800 + 100 * i,
        ))
    city.star_customer = city.customers[0]  # 欧阳锋: the customer with usage, tags and a campaign touch
    city.active_customers = len(city.customers) - 1  # CHURNED_INDEX leaves in _campaigns
    await session.flush()


async def _managers(session: AsyncSession, city: City, branch: OrgUnit, staff_hash: str) -> None:
    mgr_a = await create_staff(session, role="account_manager", username="mgr0001", org_unit_id=branch.id,
                               password_hash=staff_hash, full_name="Mei Manager", capacity=400)
    mgr_b = await create_staff(session, role="account_manager", username="mgr0002", org_unit_id=branch.id,
                               password_hash=staff_hash, full_name="Bo Manager", capacity=400)
    city.manager_a, city.manager_b = mgr_a.id, mgr_b.id
    for cid in city.customers[:5]:
        session.add(ManagerAssignment(customer_id=cid, manager_id=mgr_a.id, reason="engine"))
        session.add(AssignmentHistory(customer_id=cid, from_manager_id=None, to_manager_id=mgr_a.id,
                                      reason="engine", actor_id=None))


async def _usage_and_flags(session: AsyncSession, city: City, plan: Product) -> None:
    first = date.today().replace(day=1)
    months = [(first - timedelta(days=31 * k)).replace(day=1) for k in range(5, -1, -1)]
    for k, m in enumerate(months):
        session.add(MonthlyUsage(
            customer_id=city.star_customer, month=m, plan_id=plan.id, voice_min=300 - 20 * k,
            data_mb=15000 + 1000 * k, sms=10, voice_allowance_min=500, data_allowance_mb=20480, roaming_fen=0,
            long_distance_fen=0, payg_data_fen=0, plan_fee_fen=8800, addon_fee_fen=0, other_fee_fen=0,
            bill_fen=8800 + 500 * k, topup_fen=10000, topup_count=1, balance_end_fen=5000, broadband_gb=0,
            active_days=30,
        ))
    month_ends = [first - timedelta(days=1)]
    for _ in range(2):
        month_ends.insert(0, month_ends[0].replace(day=1) - timedelta(days=1))
    for age, month_end in enumerate(reversed(month_ends)):  # monthly flags sit on the month's last day
        for kind, n in (("payg_data", 5), ("tariff", 3), ("silence", 2), ("arpu_mismatch", 1)):
            for j in range(n + age):
                session.add(FourHighFlag(customer_id=city.customers[j], kind=kind, period=month_end, value=1.0))


async def _tags_and_tiers(session: AsyncSession, city: City) -> None:
    tags = [
        ("basic", "console_vip_customer", "VIP customer",
         {"field": "tier", "op": "in", "value": ["star5", "gold", "diamond"]}),
        ("stability", "console_competitor_caller", "Called a competitor hotline",
         {"field": "competitor_calls_90d", "op": ">=", "value": 1}),
        ("preference", "console_heavy_data", "Heavy data user", {"field": "data_mb", "op": ">=", "value": 20480}),
        ("channel", "console_app_responder", "Answers app pushes",
         {"field": "preferred_channel", "op": "=", "value": "app_push"}),
    ]
    star_tags: list[int] = []
    for family, code, name, rule in tags:
        tag = TagDefinition(code=code, name=name, family=family, description=f"{name} (console test)", rule=rule,
                            builtin=False, active=True)
        session.add(tag)
        await session.flush()
        city.tag_codes[family] = code
        star_tags.append(tag.id)
    session.add(CustomerTagSet(customer_id=city.star_customer, tag_ids=sorted(star_tags)))
    thresholds = [("star1", 0, 0), ("star2", 6, 3000), ("star3", 12, 5000), ("star4", 24, 8000),
                  ("star5", 36, 12000), ("gold", 60, 20000), ("diamond", 96, 40000)]
    for rank, (tier, months_min, bill) in enumerate(thresholds, start=1):
        session.add(TierRule(tier=tier, rank=rank, min_tenure_months=months_min, min_avg_bill_fen=bill,
                             benefits=[f"{tier} hotline"]))


async def _campaigns(session: AsyncSession, city: City, admin: StaffUser, pack: Product) -> None:
    today = date.today()
    strategy = Strategy(name="Retain tariff-sensitive high risk",
                        condition={"segment": "potential_loss", "sub_segment": "tariff"}, product_id=pack.id,
                        channel="outbound_call", script="Offer the 10GB pack at half price for 6 months.", priority=10)
    session.add(strategy)
    await session.flush()
    city.strategy_name = strategy.name
    launched = Campaign(name="Spring retention wave", query={"risk_level": ["high"]}, strategy_id=strategy.id,
                        channel="outbound_call", flow="manager_task", starts_on=today - timedelta(days=40),
                        ends_on=today - timedelta(days=10), holdout_pct=20, cost_per_touch_fen=150,
                        status="running", created_by=admin.id)
    draft = Campaign(name="Gold upsell draft", query={"tiers": ["gold"]}, strategy_id=strategy.id, channel="app_push",
                     flow="app", starts_on=today + timedelta(days=3), ends_on=today + timedelta(days=30),
                     holdout_pct=10, cost_per_touch_fen=0, status="draft", created_by=admin.id)
    session.add_all([launched, draft])
    await session.flush()
    city.campaign_id, city.draft_campaign_id = launched.id, draft.id
    for j, cid in enumerate(city.customers[:10]):
        session.add(CampaignMember(campaign_id=launched.id, customer_id=cid, holdout=j >= 8, baseline_arpu_fen=8800))
        if j < 8:
            session.add(Touch(customer_id=cid, channel="outbound_call", campaign_id=launched.id, staff_id=admin.id,
                              outcome="accepted_offer" if j < 3 else "no_answer", cost_fen=150,
                              occurred_at=_now() - timedelta(days=30)))
    # One of the two held-out customers left: retention 8/8 contacted vs 1/2 hold-out → uplift +50 pp.
    churned = await session.get(Customer, city.customers[CHURNED_INDEX])
    churned.status, churned.churned_on = "churned", today - timedelta(days=20)


async def _alliance(session: AsyncSession, city: City) -> None:
    applied = Merchant(name="Lakeside Tea House", category="food", contact_name="王老板", contact_phone="13700001111",
                       settlement_account="6222020000000001", status="applied")
    approved = Merchant(name="Golden Noodle Bar", category="food", contact_name="李老板", contact_phone="13700002222",
                        settlement_account="6222020000000002", status="approved", approved_at=_now())
    session.add_all([applied, approved])
    await session.flush()
    city.merchant_applied, city.merchant_approved = applied.id, approved.id
    offer = Offer(merchant_id=approved.id, title="Free noodle bowl", kind="free_item", face_value_fen=1800,
                  settlement_fen=1200, price_points=500, price_airtime_fen=0, stock_total=100, stock_left=100,
                  valid_from=_now(), valid_to=_now() + timedelta(days=60), status="pending")
    ad = Ad(title="Noodle Tuesday: 2 for 1", body="Show your Tenure app at the till.", target_tiers=["gold", "diamond"],
            starts_at=_now(), ends_at=_now() + timedelta(days=14), merchant_id=approved.id, status="pending",
            priority=5)
    session.add_all([offer, ad])
    await session.flush()
    city.offer_pending, city.ad_pending = offer.id, ad.id


async def _registry_imports_audit(session: AsyncSession, city: City, admin: StaffUser) -> None:
    ranking = [{"factor": "competitor_calls_90d", "information_gain": 0.112},
               {"factor": "arpu_trend_3m", "information_gain": 0.064},
               {"factor": "complaints_90d", "information_gain": 0.031}]
    for version, auc, active in ((1, 0.781, False), (2, 0.836, True)):
        session.add(ChurnModel(
            version=version, algorithm="gradient_boosting", train_from=date(2025, 1, 1), train_to=date(2025, 12, 31),
            features=["competitor_calls_90d", "arpu_trend_3m"],
            metrics={"roc_auc": auc, "top_decile_lift": 3.1, "precision_at_capacity": 0.41},
            factor_ranking=ranking, active=active,
        ))
    job = ImportJob(kind="subscribers", filename="subscribers-2026-10.csv", sha256="ab" * 32, status="done",
                    rows_total=120, rows_ok=118, rows_bad=2,
                    errors=[{"line": 17, "reason": "msisdn: not a mobile number"},
                            {"line": 88, "reason": "join_date: not a date"}],
                    created_by=admin.id, finished_at=_now())
    session.add(job)
    await session.flush()
    city.import_job_id = job.id
    actor = f"staff:{admin.id}"
    session.add(AuditLog(actor=actor, role="admin", action="campaign.create", object_kind="campaign",
                         object_id=str(city.campaign_id), detail={"name": "Spring retention wave"}, ip="10.1.2.3"))
    session.add(AuditLog(actor=actor, role="admin", action="tier_rule.update", object_kind="tier_rule",
                         object_id="gold", detail={"min_avg_bill_fen": 20000}, ip="10.1.2.3"))
