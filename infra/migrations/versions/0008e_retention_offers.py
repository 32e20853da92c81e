"""Retention offers that fit the cause, and key-moment playbooks as back-office rules (issue 14,
items 8 and 11): `retention_offers` and `key_moment_playbooks`.

Revision ID: 0008e
Revises: 0007o

`retention_offers`: per cause (stability sub-cause or `four_high:<kind>`) a ladder of offers by
rank — product by id or kind (or none: a care call), channel, Chinese script, cost to the
operator (NULL: from the product's rebate terms). `key_moment_playbooks`: what each key-moment
event produces (product kind, channel, care-task kind, reason, script), keyed like
shared.engine.events.playbook_key. Both are seeded with the defaults of the code of this
revision (copied here: a migration must not change when the code does); the playbook rows equal
the former hard-coded dict, so behaviour is unchanged until an operator edits them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008e"
down_revision = "0007o"
branch_labels = None
depends_on = None

# cause -> [(label, product kind, channel, cost_fen, script)]
OFFERS = {
    "network": [
        (
            "网络修复+宽带提速体验",
            "broadband",
            "outbound_call",
            3000,
            "了解到您近期网络体验不佳,我们已安排工程师检测修复;同时可为您免费提速并优化家庭 WiFi 覆盖。",
        ),
        (
            "网络修复回访",
            None,
            "outbound_call",
            0,
            "了解到您近期网络体验不佳,已安排工程师检测修复,修复后我再回访确认效果。",
        ),
    ],
    "service": [
        (
            "服务修复专人回访",
            None,
            "outbound_call",
            0,
            "针对您之前反映的问题,我是专门负责跟进的客户经理,想了解问题是否已解决。",
        )
    ],
    "tariff": [
        (
            "存费送费合约",
            "contract",
            "outbound_call",
            9000,
            "现在预存话费签约,合约期内每月返还 40%–50%,比现在更划算,需要为您办理吗?",
        ),
        (
            "充值送费",
            "recharge_bonus",
            "outbound_call",
            6000,
            "现在充值即可连续 6 个月获赠话费和流量,您看需要为您办理吗?",
        ),
        ("资费诊断回访", None, "outbound_call", 0, "我帮您看了近几个月的账单,给您讲讲怎样用更省钱。"),
    ],
    "resource_shortage": [
        ("流量包", "data_pack", "sms", 500, "您的流量经常不够用,推荐加装流量包,比套外计费省一半以上。"),
        ("套餐升档", "plan", "outbound_call", 0, "您的套餐资源经常不够用,升档后资源更多、单价更低。"),
    ],
    "resource_surplus": [
        ("亲情共享", "family", "app", 0, "您的套餐资源充裕,可以开通亲情共享,把用不完的流量分给家人。")
    ],
    "low_frequency": [
        ("视频会员权益", "membership", "app", 1500, "开通视频会员权益,追剧看球更畅快,会员期内定向流量免费。"),
        ("使用指导回访", None, "outbound_call", 0, "想了解一下您平时怎么用手机,我来教您把套餐用起来。"),
    ],
    "four_high:tariff": [
        ("长途漫游优惠包", "voice_pack", "sms", 500, "您近期长途/漫游费用较高,推荐您办理优惠可选包,长话长聊更省心。")
    ],
    "four_high:payg_data": [
        ("流量包", "data_pack", "sms", 500, "您上月产生了较多套外流量费,办理流量包每月可节省不少费用。")
    ],
    "four_high:silence": [
        ("资源使用提醒", None, "sms", 0, "温馨提示:您的套餐内还有大量通话分钟和流量未使用,我来教您用起来。")
    ],
    "four_high:arpu_mismatch": [
        ("套餐迁移", "plan", "outbound_call", 0, "根据您的实际使用,有更合适的套餐,每月可节省费用且满足日常需要。")
    ],
}

# key -> (product kind, recommendation channel, task kind, reason, script)
PLAYBOOKS = {
    "hotline_call:broadband_lag": (
        "broadband",
        "hotline",
        None,
        "热线咨询宽带卡顿",
        "已为您登记宽带检测;同时可免费升级速率并优化家庭 WiFi 覆盖,还可预约智慧家庭工程师上门。",
    ),
    "hotline_call:network": (
        "broadband",
        "hotline",
        "key_moment",
        "热线反映网络问题",
        "非常抱歉给您带来不便,已安排网络优化;为表歉意,为您推荐宽带提速体验。",
    ),
    "hotline_call:slow_data": (
        "data_pack",
        "hotline",
        None,
        "热线反映上网慢/流量不够",
        "您的流量已接近用完会被限速,加装流量包即可恢复高速。",
    ),
    "hotline_call:tariff": (
        "contract",
        "hotline",
        "key_moment",
        "热线咨询资费",
        "根据您的使用情况,签约存费送费合约每月可返还 40%–50%,比现在更划算。",
    ),
    "hotline_call:billing": (
        "recharge_bonus",
        "hotline",
        "key_moment",
        "热线咨询账单",
        "已为您核对账单;现在充值可享连续 6 个月赠费。",
    ),
    "hotline_call:service": (None, "hotline", "key_moment", "热线反映服务问题", "已记录您的意见,客户经理将专门回访。"),
    "hotline_call:other": (None, "hotline", None, "热线来电", "感谢来电,如有需要随时联系您的客户经理。"),
    "usage_collapse": (
        "recharge_bonus",
        "outbound_call",
        "key_moment",
        "使用量骤降",
        "注意到您最近使用明显减少,想了解是否有不满意的地方,我们可以为您调整方案。",
    ),
    "low_balance": (
        "recharge_bonus",
        "sms",
        None,
        "余额不足",
        "您的话费余额不足,现在充值 100 元连续 6 个月赠送话费和流量,回复 1 办理。",
    ),
    "contract_ending": (
        "contract",
        "outbound_call",
        "key_moment",
        "合约即将到期",
        "您的合约即将到期,续约可继续享受每月返还和专属优惠。",
    ),
    "port_out_code_request": (
        "contract",
        "outbound_call",
        "churn",
        "携号转网授权码查询",
        "了解到您在查询携号转网授权码,想先听听您的顾虑;老客户可享专属合约优惠,号码、积分和星级都保留。",
    ),
    "competitor_call": (
        "recharge_bonus",
        "outbound_call",
        "churn",
        "拨打异网客服热线",
        "感谢您一直以来的支持,为老客户准备了充值赠费和流量优惠,想听听您的需要。",
    ),
}


def upgrade() -> None:
    op.create_table(
        "retention_offers",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("cause", sa.String(length=30), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=60), nullable=False),
        sa.Column("product_kind", sa.String(length=20), nullable=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("cost_fen", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.UniqueConstraint("cause", "rank", name="uq_retention_offers_cause_rank"),
        sa.CheckConstraint("cost_fen IS NULL OR cost_fen >= 0", name="ck_retention_offers_cost"),
    )
    op.create_table(
        "key_moment_playbooks",
        sa.Column("key", sa.String(length=40), primary_key=True),
        sa.Column("product_kind", sa.String(length=20), nullable=True),
        sa.Column("product_id", sa.Integer(), sa.ForeignKey("products.id"), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("task_kind", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.String(length=120), nullable=False),
        sa.Column("script", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.Integer(), sa.ForeignKey("staff_users.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    bind = op.get_bind()
    for cause, ladder in OFFERS.items():
        for rank, (label, kind, channel, cost, script) in enumerate(ladder, start=1):
            bind.execute(
                sa.text(
                    "INSERT INTO retention_offers (cause, rank, label, product_kind, channel, script, cost_fen) "
                    "VALUES (:c, :r, :l, :k, :ch, :s, :cost)"
                ),
                {"c": cause, "r": rank, "l": label, "k": kind, "ch": channel, "s": script, "cost": cost},
            )
    for key, (kind, channel, task_kind, reason, script) in PLAYBOOKS.items():
        bind.execute(
            sa.text(
                "INSERT INTO key_moment_playbooks (key, product_kind, channel, task_kind, reason, script) "
                "VALUES (:key, :k, :ch, :t, :r, :s)"
            ),
            {"key": key, "k": kind, "ch": channel, "t": task_kind, "r": reason, "s": script},
        )


def downgrade() -> None:
    op.drop_table("key_moment_playbooks")
    op.drop_table("retention_offers")
