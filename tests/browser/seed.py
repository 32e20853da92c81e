"""A small, fully known city for the console tests: every figure a screen shows comes from here.

Values are chosen so that the browser can check them exactly (names, counts, statuses):
20 customers in one branch with tiers TIER_PLAN and risks RISK_PLAN (cycled), customer index 8
(a high-risk, gold, held-out campaign member) churned 20 days ago, one running campaign of 10
members (8 contacted, 2 held out: retention 100 % vs 50 %), one draft campaign, merchants in
each decision state, two churn model versions, one finished import with two bad rows; for the
screens of issue 16: three behaviour clusters, a finished and a failed engine run, a manager's
incentive statement, a merchant settlement statement and a holiday. Names are Chinese, as the
operator's own data would be.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from shared.alliance import settlement
from shared.auth.passwords import hash_secret
from shared.models import (
    Ad,
    AssignmentHistory,
    AuditLog,
    BehaviourCluster,
    Campaign,
    CampaignMember,
    CareTask,
    ChurnModel,
    Customer,
    CustomerFeatures,
    CustomerProfile,
    CustomerTagSet,
    EngineRun,
    EngineRunStage,
    FourHighFlag,
    Holiday,
    ImportJob,
    IncentiveStatement,
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
NAMES = [
    "欧阳锋",
    "黄药师",
    "洪七公",
    "段智兴",
    "王重阳",
    "周伯通",
    "郭靖",
    "黄蓉",
    "杨过",
    "小龙女",
    "令狐冲",
    "任盈盈",
    "张无忌",
    "赵敏",
    "乔峰",
    "段誉",
    "虚竹",
    "阿朱",
    "韦小宝",
    "双儿",
]
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
    engine_run_id: int = 0
    plan_id: int = 0
    statement_id: int = 0
    incentive_month: str = ""
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
    plan = await create_product(
        session, code="PLAN-88", name="家庭88元套餐", kind="plan", monthly_fee_fen=8800, data_mb=20480
    )
    pack = await create_product(session, code="DATA-10G", name="10GB流量包", kind="data_pack", monthly_fee_fen=3000)
    city.plan_id = plan.id
    await _customers(session, city, branch, plan)
    await _managers(session, city, branch, staff_hash)
    await _usage_and_flags(session, city, plan)
    await _tags_and_tiers(session, city)
    await _campaigns(session, city, admin, pack)
    await _alliance(session, city)
    await _registry_imports_audit(session, city, admin)
    await _engine_and_settlement(session, city)
    await session.flush()
    return city


async def _org_and_staff(session: AsyncSession, city: City, staff_hash: str) -> tuple[OrgUnit, StaffUser]:
    dept, centre, branch = await create_org(session)
    dept.name, centre.name = "绍兴分公司市场部", "产品支撑中心"
    branch.name = city.branch_name = "西湖区分公司"
    admin = await create_staff(
        session, role="admin", username="admin", password_hash=hash_secret(ADMIN_PASSWORD), full_name="后台管理员"
    )
    for role, full_name in (
        ("auditor", "李审计"),
        ("analyst", "王分析"),
        ("strategist", "赵策划"),
        ("operator", "钱运营"),
    ):
        await create_staff(session, role=role, username=role, password_hash=staff_hash, full_name=full_name)
    other_branch = await create_branch(session)  # a branch with no customers: its head sees nothing of Xihu
    other_branch.name = "柯桥区分公司"
    await create_staff(
        session,
        role="branch_head",
        username="head99",
        org_unit_id=other_branch.id,
        password_hash=staff_hash,
        full_name="郝主任",
    )
    return branch, admin


async def _customers(session: AsyncSession, city: City, branch: OrgUnit, plan: Product) -> None:
    for i, name in enumerate(NAMES):
        tier = TIER_PLAN[i % len(TIER_PLAN)]
        risk = RISK_PLAN[i % len(RISK_PLAN)]
        c = await create_customer(
            session,
            phone=f"139{(9000 + i):08d}",
            name=name,
            tier=tier,
            branch_id=branch.id,
            plan_id=plan.id,
            join_date=date(2015, 1, 1) + timedelta(days=90 * i),
        )
        city.customers.append(c.id)
        city.tier_counts[tier] = city.tier_counts.get(tier, 0) + 1
        city.risk_counts[risk] = city.risk_counts.get(risk, 0) + 1
        session.add(
            CustomerFeatures(
                customer_id=c.id,
                branch_id=branch.id,
                tier=tier,
                tenure_months=12 + 3 * i,
                data_mb=10240 + 1024 * i,
                competitor_calls_90d=1 if risk == "high" else 0,
                arpu_fen=8800 + 100 * i,
            )
        )
        session.add(
            CustomerProfile(
                customer_id=c.id,
                lifecycle_stage="stable" if risk == "low" else "decline",
                segment="potential_loss" if risk == "high" else "stable",
                sub_segment="tariff" if risk == "high" else None,
                churn_score={"low": 0.08, "medium": 0.41, "high": 0.83}[risk],
                warning_coefficient=1.2,
                risk_level=risk,
                top_factors=[
                    {"factor": "competitor_calls_90d", "value": 3, "weight": 0.42},
                    {"factor": "arpu_trend_3m", "value": -0.35, "weight": 0.21},
                ],
                four_high=["payg_data"] if i % 4 == 0 else [],
                preferred_channel="app_push",
                arpu_fen=8800 + 100 * i,
            )
        )
    city.star_customer = city.customers[0]  # 欧阳锋: the customer with usage, tags and a campaign touch
    city.active_customers = len(city.customers) - 1  # CHURNED_INDEX leaves in _campaigns
    await session.flush()


async def _managers(session: AsyncSession, city: City, branch: OrgUnit, staff_hash: str) -> None:
    mgr_a = await create_staff(
        session,
        role="account_manager",
        username="mgr0001",
        org_unit_id=branch.id,
        password_hash=staff_hash,
        full_name="梅经理",
        capacity=400,
    )
    mgr_b = await create_staff(
        session,
        role="account_manager",
        username="mgr0002",
        org_unit_id=branch.id,
        password_hash=staff_hash,
        full_name="薄经理",
        capacity=400,
    )
    city.manager_a, city.manager_b = mgr_a.id, mgr_b.id
    for cid in city.customers[:5]:
        session.add(ManagerAssignment(customer_id=cid, manager_id=mgr_a.id, reason="engine"))
        session.add(
            AssignmentHistory(
                customer_id=cid, from_manager_id=None, to_manager_id=mgr_a.id, reason="engine", actor_id=None
            )
        )
    for j, cid in enumerate(city.customers[:4]):  # this month's routine care: 3 of 4 done (KPI routine_care 0.75)
        session.add(
            CareTask(
                customer_id=cid,
                manager_id=mgr_a.id,
                kind="routine",
                dedupe_key=f"console-routine-{cid}",
                due_on=date.today().replace(day=1),
                reason="例行关怀：了解近期使用情况",
                status="done" if j < 3 else "open",
                completed_at=_now() if j < 3 else None,
            )
        )


async def _usage_and_flags(session: AsyncSession, city: City, plan: Product) -> None:
    first = date.today().replace(day=1)
    months = [(first - timedelta(days=31 * k)).replace(day=1) for k in range(5, -1, -1)]
    for k, m in enumerate(months):
        session.add(
            MonthlyUsage(
                customer_id=city.star_customer,
                month=m,
                plan_id=plan.id,
                voice_min=300 - 20 * k,
                data_mb=15000 + 1000 * k,
                sms=10,
                voice_allowance_min=500,
                data_allowance_mb=20480,
                roaming_fen=0,
                long_distance_fen=0,
                payg_data_fen=0,
                plan_fee_fen=8800,
                addon_fee_fen=0,
                other_fee_fen=0,
                bill_fen=8800 + 500 * k,
                topup_fen=10000,
                topup_count=1,
                balance_end_fen=5000,
                broadband_gb=0,
                active_days=30,
            )
        )
    month_ends = [first - timedelta(days=1)]
    for _ in range(2):
        month_ends.insert(0, month_ends[0].replace(day=1) - timedelta(days=1))
    for age, month_end in enumerate(reversed(month_ends)):  # monthly flags sit on the month's last day
        for kind, n in (("payg_data", 5), ("tariff", 3), ("silence", 2), ("arpu_mismatch", 1)):
            for j in range(n + age):
                session.add(
                    FourHighFlag(  # the first customer of each list was cared for, the second is normal again
                        customer_id=city.customers[j],
                        kind=kind,
                        period=month_end,
                        value=0.62 if kind == "silence" else 2600.0,
                        cared_at=_now() - timedelta(days=20) if j in (0, 1) else None,
                        normalised_on=month_end if j == 1 else None,
                    )
                )


async def _tags_and_tiers(session: AsyncSession, city: City) -> None:
    tags = [
        (
            "basic",
            "console_vip_customer",
            "贵宾客户",
            {"field": "tier", "op": "in", "value": ["star5", "gold", "diamond"]},
        ),
        (
            "stability",
            "console_competitor_caller",
            "拨打异网客服",
            {"field": "competitor_calls_90d", "op": ">=", "value": 1},
        ),
        ("preference", "console_heavy_data", "流量重度用户", {"field": "data_mb", "op": ">=", "value": 20480}),
        (
            "channel",
            "console_app_responder",
            "APP推送响应",
            {"field": "preferred_channel", "op": "=", "value": "app_push"},
        ),
    ]
    star_tags: list[int] = []
    for family, code, name, rule in tags:
        tag = TagDefinition(
            code=code,
            name=name,
            family=family,
            description=f"{name}（控制台测试）",
            rule=rule,
            builtin=False,
            active=True,
        )
        session.add(tag)
        await session.flush()
        city.tag_codes[family] = code
        star_tags.append(tag.id)
    session.add(CustomerTagSet(customer_id=city.star_customer, tag_ids=sorted(star_tags)))
    thresholds = [
        ("star1", 0, 0),
        ("star2", 6, 3000),
        ("star3", 12, 5000),
        ("star4", 24, 8000),
        ("star5", 36, 12000),
        ("gold", 60, 20000),
        ("diamond", 96, 40000),
    ]
    for rank, (tier, months_min, bill) in enumerate(thresholds, start=1):
        session.add(
            TierRule(
                tier=tier, rank=rank, min_tenure_months=months_min, min_avg_bill_fen=bill, benefits=[f"{tier} 专属热线"]
            )
        )


async def _campaigns(session: AsyncSession, city: City, admin: StaffUser, pack: Product) -> None:
    today = date.today()
    strategy = Strategy(
        name="资费敏感高危客户挽留",
        condition={"segment": "potential_loss", "sub_segment": "tariff"},
        product_id=pack.id,
        channel="outbound_call",
        script="推荐10GB流量包，前6个月半价。",
        priority=10,
    )
    session.add(strategy)
    await session.flush()
    city.strategy_name = strategy.name
    launched = Campaign(
        name="春季保有行动",
        query={"risk_level": ["high"]},
        strategy_id=strategy.id,
        channel="outbound_call",
        flow="manager_task",
        starts_on=today - timedelta(days=40),
        ends_on=today - timedelta(days=10),
        holdout_pct=20,
        cost_per_touch_fen=150,
        status="running",
        created_by=admin.id,
    )
    draft = Campaign(
        name="金卡客户升档（草稿）",
        query={"tiers": ["gold"]},
        strategy_id=strategy.id,
        channel="app_push",
        flow="app",
        starts_on=today + timedelta(days=3),
        ends_on=today + timedelta(days=30),
        holdout_pct=10,
        cost_per_touch_fen=0,
        status="draft",
        created_by=admin.id,
    )
    session.add_all([launched, draft])
    await session.flush()
    city.campaign_id, city.draft_campaign_id = launched.id, draft.id
    for j, cid in enumerate(city.customers[:10]):
        session.add(CampaignMember(campaign_id=launched.id, customer_id=cid, holdout=j >= 8, baseline_arpu_fen=8800))
        if j < 8:
            session.add(
                Touch(
                    customer_id=cid,
                    channel="outbound_call",
                    campaign_id=launched.id,
                    staff_id=admin.id,
                    outcome="accepted_offer" if j < 3 else "no_answer",
                    cost_fen=150,
                    occurred_at=_now() - timedelta(days=30),
                )
            )
    # One of the two held-out customers left: retention 8/8 contacted vs 1/2 hold-out → uplift +50 pp.
    churned = await session.get(Customer, city.customers[CHURNED_INDEX])
    churned.status, churned.churned_on = "churned", today - timedelta(days=20)


async def _alliance(session: AsyncSession, city: City) -> None:
    applied = Merchant(
        name="湖畔茶馆",
        category="food",
        contact_name="王老板",
        contact_phone="13700001111",
        settlement_account="6222020000000001",
        status="applied",
    )
    approved = Merchant(
        name="金面馆",
        category="food",
        contact_name="李老板",
        contact_phone="13700002222",
        settlement_account="6222020000000002",
        status="approved",
        approved_at=_now(),
    )
    session.add_all([applied, approved])
    await session.flush()
    city.merchant_applied, city.merchant_approved = applied.id, approved.id
    offer = Offer(
        merchant_id=approved.id,
        title="免费面一碗",
        kind="free_item",
        face_value_fen=1800,
        settlement_fen=1200,
        price_points=500,
        price_airtime_fen=0,
        stock_total=100,
        stock_left=100,
        valid_from=_now(),
        valid_to=_now() + timedelta(days=60),
        status="pending",
    )
    ad = Ad(
        title="周二面馆买一送一",
        body="结账时出示 Tenure APP 即可。",
        target_tiers=["gold", "diamond"],
        starts_at=_now(),
        ends_at=_now() + timedelta(days=14),
        merchant_id=approved.id,
        status="pending",
        priority=5,
    )
    session.add_all([offer, ad])
    await session.flush()
    city.offer_pending, city.ad_pending = offer.id, ad.id


async def _registry_imports_audit(session: AsyncSession, city: City, admin: StaffUser) -> None:
    ranking = [
        {"factor": "competitor_calls_90d", "information_gain": 0.112},
        {"factor": "arpu_trend_3m", "information_gain": 0.064},
        {"factor": "complaints_90d", "information_gain": 0.031},
    ]
    for version, auc, active in ((1, 0.781, False), (2, 0.836, True)):
        session.add(
            ChurnModel(
                version=version,
                algorithm="gradient_boosting",
                train_from=date(2025, 1, 1),
                train_to=date(2025, 12, 31),
                features=["competitor_calls_90d", "arpu_trend_3m"],
                metrics={"roc_auc": auc, "top_decile_lift": 3.1, "precision_at_capacity": 0.41},
                factor_ranking=ranking,
                active=active,
            )
        )
    job = ImportJob(
        kind="subscribers",
        filename="subscribers-2026-10.csv",
        sha256="ab" * 32,
        status="done",
        rows_total=120,
        rows_ok=118,
        rows_bad=2,
        errors=[{"line": 17, "reason": "msisdn: not a mobile number"}, {"line": 88, "reason": "join_date: not a date"}],
        created_by=admin.id,
        finished_at=_now(),
    )
    session.add(job)
    await session.flush()
    city.import_job_id = job.id
    actor = f"staff:{admin.id}"
    session.add(
        AuditLog(
            actor=actor,
            role="admin",
            action="campaign.create",
            object_kind="campaign",
            object_id=str(city.campaign_id),
            detail={"name": "春季保有行动"},
            ip="10.1.2.3",
        )
    )
    session.add(
        AuditLog(
            actor=actor,
            role="admin",
            action="tier_rule.update",
            object_kind="tier_rule",
            object_id="gold",
            detail={"min_avg_bill_fen": 20000},
            ip="10.1.2.3",
        )
    )


CLUSTERS = [  # (label, population, [(feature, z)]) as the engine describes a fitted centroid
    ("高流量、高套外流量费", 7, [("data", 1.8), ("payg_data", 1.2), ("voice", -0.4), ("active_days", 0.3)]),
    ("低活跃天数、低通话分钟", 5, [("active_days", -1.6), ("voice", -1.1), ("data", -0.7), ("arpu", -0.2)]),
    ("高月消费、高漫游长途费", 8, [("arpu", 1.4), ("roaming_ld", 1.1), ("voice", 0.6), ("data", 0.1)]),
]
STAGE_ROWS = [
    ("features", 20, 0.4),
    ("tiers", 20, 0.1),
    ("churn", 20, 2.3),
    ("clusters", 20, 0.6),
    ("four_high", 11, 0.1),
    ("profiles", 20, 0.2),
    ("tags", 20, 0.3),
    ("strategies", 6, 0.1),
    ("assignment", 5, 0.1),
    ("care_tasks", 9, 0.1),
]


async def _engine_and_settlement(session: AsyncSession, city: City) -> None:
    for cid, (label, population, feats) in enumerate(CLUSTERS):
        session.add(
            BehaviourCluster(
                cluster_id=cid,
                features=[f for f, _ in feats],
                scaler={"mean": [0.0] * 4, "std": [1.0] * 4},
                centroid=[z for _, z in feats],
                label=label,
                sample_size=population,
                population=population,
                description=[
                    {"feature": f, "label": f, "z": z, "direction": "high" if z > 0 else "low"} for f, z in feats
                ],
            )
        )
    yesterday = date.today() - timedelta(days=1)
    done = EngineRun(run_date=yesterday, status="done", finished_at=_now() - timedelta(hours=20))
    failed = EngineRun(
        run_date=yesterday - timedelta(days=1),
        status="failed",
        finished_at=_now() - timedelta(hours=44),
        error="churn: no customers with a churn history yet",
    )
    session.add_all([failed, done])
    await session.flush()
    city.engine_run_id = done.id
    for stage, rows, seconds in STAGE_ROWS:
        session.add(EngineRunStage(run_id=done.id, stage=stage, status="done", rows=rows, seconds=seconds))
    session.add(EngineRunStage(run_id=failed.id, stage="features", status="done", rows=20, seconds=0.4))
    session.add(EngineRunStage(run_id=failed.id, stage="churn", status="failed", rows=0, seconds=0.2))
    last_month = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    session.add(
        IncentiveStatement(
            manager_id=city.manager_a,
            month=last_month,
            points=130,
            txn_id=None,
            rules={
                "retained_high_risk_points": 50,
                "risk_window_days": 90,
                "uplift_points_per_yuan": 1,
                "uplift_cap_points": 100,
                "uplift_baseline_months": 3,
            },
            lines=[
                {"customer_id": city.customers[3], "kind": "retained_high_risk", "points": 50, "task_id": 1},
                {
                    "customer_id": city.customers[1],
                    "kind": "value_uplift",
                    "points": 80,
                    "bill_fen": 16800,
                    "baseline_fen": 8800,
                },
            ],
        )
    )
    city.incentive_month = last_month.isoformat()[:7]
    session.add(Holiday(day=date(date.today().year, 10, 1), name="国庆节", greeting_template="{name}，国庆节快乐！"))
    await session.flush()
    statement = await settlement.generate(
        session,
        merchant_id=city.merchant_approved,
        period_start=last_month,
        period_end=date.today() - timedelta(days=1),
    )
    city.statement_id = statement.id
