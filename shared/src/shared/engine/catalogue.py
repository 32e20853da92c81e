"""The built-in tag catalogue (seed 002: four families — basic attributes, stability, latent
product preference, channel preference). Each entry is an ordinary declarative rule, seeded
idempotently by code; an admin may edit or disable a built-in tag and the seeder leaves it alone.
"""

from __future__ import annotations

from typing import Any

Tag = dict[str, Any]


def _f(field: str, op: str, value: Any = None) -> dict[str, Any]:
    node: dict[str, Any] = {"field": field, "op": op}
    if value is not None:
        node["value"] = value
    return node


def _all(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"all": list(nodes)}


def _any(*nodes: dict[str, Any]) -> dict[str, Any]:
    return {"any": list(nodes)}


def _bands(
    prefix: str, name: str, field: str, edges: list[float], unit: str, family: str, scale: float = 1
) -> list[Tag]:
    """Contiguous bands [e_i, e_{i+1}) plus an open top band."""
    out: list[Tag] = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        lo_v = int(low * scale) if float(low * scale).is_integer() else low * scale
        if high is None:
            rule = _f(field, ">=", lo_v)
            label = f"{name} ≥{low}{unit}"
        else:
            hi_v = int(high * scale) if float(high * scale).is_integer() else high * scale
            rule = _all(_f(field, ">=", lo_v), _f(field, "<", hi_v))
            label = f"{name} {low}–{high}{unit}"
        out.append(
            {
                "code": f"{prefix}_{i + 1}",
                "name": label,
                "family": family,
                "rule": rule,
                "description": f"{name}分档 {label}",
            }
        )
    return out


def _tag(code: str, name: str, family: str, rule: dict[str, Any], description: str | None = None) -> Tag:
    return {"code": code, "name": name, "family": family, "rule": rule, "description": description or name}


def catalogue() -> list[Tag]:
    B, S, P, C = "basic", "stability", "preference", "channel"
    tags: list[Tag] = []
    # --- basic attributes -------------------------------------------------------------------
    tags += _bands("arpu_band", "月均消费", "arpu_fen", [0, 30, 50, 80, 128, 200, 300], "元", B, scale=100)
    tags += _bands("tenure_band", "网龄", "tenure_months", [0, 6, 12, 24, 36, 60, 96, 120], "月", B)
    tags += _bands("age_band", "年龄", "age_years", [0, 25, 35, 45, 55, 65], "岁", B)
    tags += _bands("data_band", "月均流量", "data_mb", [0, 1, 5, 10, 20, 40], "GB", B, scale=1024)
    tags += _bands("voice_band", "月均通话", "voice_min", [0, 50, 200, 500, 1000], "分钟", B)
    tags += _bands("plan_fee_band", "套餐月费", "plan_fee_fen", [0, 39, 59, 99, 159, 239], "元", B, scale=100)
    for tier, label in [
        ("star1", "一星"),
        ("star2", "二星"),
        ("star3", "三星"),
        ("star4", "四星"),
        ("star5", "五星"),
        ("gold", "金卡"),
        ("diamond", "钻石卡"),
    ]:
        tags.append(_tag(f"tier_{tier}", f"{label}客户", B, _f("tier", "=", tier)))
    tags.append(_tag("vip", "贵宾客户", B, _f("tier", "in", ["star5", "gold", "diamond"])))
    tags.append(_tag("gender_m", "男性", B, _f("gender", "=", "M")))
    tags.append(_tag("gender_f", "女性", B, _f("gender", "=", "F")))
    for stage, label in [
        ("exploration", "考察期"),
        ("formation", "形成期"),
        ("stable", "稳定期"),
        ("decline", "退化期"),
    ]:
        tags.append(_tag(f"stage_{stage}", f"生命周期-{label}", B, _f("lifecycle_stage", "=", stage)))
    for band, label in [("low", "低端"), ("mid", "中端"), ("high", "高端"), ("flagship", "旗舰")]:
        tags.append(_tag(f"handset_{band}", f"{label}终端", B, _f("handset_price_band", "=", band)))
    tags += [
        _tag("dual_sim", "双卡终端", B, _f("dual_sim", "=", True)),
        _tag("handset_old_24m", "终端使用超 24 个月", B, _f("handset_age_months", ">=", 24)),
        _tag("handset_old_36m", "终端使用超 36 个月", B, _f("handset_age_months", ">=", 36)),
        _tag("handset_new_3m", "3 个月内新换机", B, _f("handset_age_months", "<", 3)),
        _tag("handset_changer", "近一年换机", B, _f("handset_changes_12m", ">=", 1)),
        _tag("broadband_user", "宽带用户", B, _f("broadband_gb", ">", 0)),
        _tag("broadband_heavy", "宽带重度用户", B, _f("broadband_gb", ">=", 300)),
        _tag("in_contract", "合约期内", B, _f("days_to_contract_end", ">", 90)),
        _tag("no_contract", "无合约", B, _f("days_to_contract_end", "is_null")),
        _tag("contract_end_30d", "合约 30 天内到期", B, _f("days_to_contract_end", "<=", 30)),
        _tag(
            "contract_end_90d",
            "合约 90 天内到期",
            B,
            _all(_f("days_to_contract_end", ">", 30), _f("days_to_contract_end", "<=", 90)),
        ),
        _tag("birthday_this_week", "本周生日", B, _f("days_to_birthday", "<=", 7)),
        _tag("birthday_this_month", "30 天内生日", B, _f("days_to_birthday", "<=", 30)),
        _tag("sms_user", "短信活跃", B, _f("sms", ">=", 30)),
        _tag("sms_none", "不使用短信", B, _f("sms", "=", 0)),
        _tag("roamer", "漫游用户", B, _f("roaming_fen", ">", 0)),
        _tag("long_distance_user", "长途用户", B, _f("long_distance_fen", ">", 0)),
        _tag("payg_user", "产生套外流量费", B, _f("payg_data_fen", ">", 0)),
        _tag("multi_addon", "订购 2 个以上增值业务", B, _f("active_subscriptions", ">=", 2)),
        _tag("no_addon", "未订购增值业务", B, _f("active_subscriptions", "=", 0)),
        _tag("active_daily", "几乎每天使用", B, _f("active_days", ">=", 25)),
        _tag("has_email", "留有电子邮箱", B, _f("has_email", "=", True)),
        _tag("frequent_topup", "频繁充值(3 月 ≥6 次)", B, _f("topup_count_3m", ">=", 6)),
        _tag("big_topup", "大额充值(3 月 ≥300 元)", B, _f("topup_3m_fen", ">=", 30000)),
        _tag("balance_high", "余额充足(≥100 元)", B, _f("balance_fen", ">=", 10000)),
        _tag("new_customer", "入网未满 3 个月", B, _f("tenure_months", "<", 3)),
        _tag("loyal_10y", "十年老客户", B, _f("tenure_months", ">=", 120)),
    ]
    # --- stability ----------------------------------------------------------------------------
    tags += [
        _tag("seg_potential_loss", "潜在客户流失", S, _f("segment", "=", "potential_loss")),
        _tag("seg_value_loss", "潜在价值流失", S, _f("segment", "=", "value_loss")),
        _tag("seg_stable", "相对稳态", S, _f("segment", "=", "stable")),
        _tag("sub_tariff", "资费待修复", S, _f("sub_segment", "=", "tariff")),
        _tag("sub_network", "网络待修复", S, _f("sub_segment", "=", "network")),
        _tag("sub_service", "服务满意度待修复", S, _f("sub_segment", "=", "service")),
        _tag("sub_resource_surplus", "资源充裕型", S, _f("sub_segment", "=", "resource_surplus")),
        _tag("sub_resource_shortage", "资源紧张型", S, _f("sub_segment", "=", "resource_shortage")),
        _tag("sub_low_frequency", "低频使用型", S, _f("sub_segment", "=", "low_frequency")),
        _tag("sub_high_value", "高价值稳态", S, _f("sub_segment", "=", "high_value")),
        _tag("risk_high", "高流失风险", S, _f("risk_level", "=", "high")),
        _tag("risk_medium", "中流失风险", S, _f("risk_level", "=", "medium")),
        _tag("risk_low", "低流失风险", S, _f("risk_level", "=", "low")),
        _tag("competitor_caller", "近 90 天拨打异网客服", S, _f("competitor_calls_90d", ">=", 1)),
        _tag("competitor_caller_30d", "近 30 天拨打异网客服", S, _f("competitor_calls_30d", ">=", 1)),
        _tag("competitor_caller_repeat", "多次拨打异网客服", S, _f("competitor_calls_90d", ">=", 3)),
        _tag("complainer", "近 90 天有投诉", S, _f("complaints_90d", ">=", 1)),
        _tag("complainer_repeat", "近 90 天多次投诉", S, _f("complaints_90d", ">=", 3)),
        _tag("complaint_network", "网络质量投诉", S, _f("complaints_network_90d", ">=", 1)),
        _tag("complaint_tariff", "资费计费投诉", S, _f("complaints_tariff_90d", ">=", 1)),
        _tag("complaint_service", "服务投诉", S, _f("complaints_service_90d", ">=", 1)),
        _tag("complaint_unresolved", "投诉未解决", S, _f("unresolved_complaints", ">=", 1)),
        _tag("dissatisfied", "满意度低(≤2 分)", S, _f("min_satisfaction", "<=", 2)),
        _tag("arpu_falling", "ARPU 下滑(3 月 -20%)", S, _f("arpu_trend_3m", "<=", -0.2)),
        _tag("arpu_collapse", "ARPU 骤降(3 月 -50%)", S, _f("arpu_trend_3m", "<=", -0.5)),
        _tag("arpu_rising", "ARPU 上升(3 月 +20%)", S, _f("arpu_trend_3m", ">=", 0.2)),
        _tag("data_falling", "流量下滑(3 月 -30%)", S, _f("data_trend_3m", "<=", -0.3)),
        _tag("voice_falling", "通话下滑(3 月 -30%)", S, _f("voice_trend_3m", "<=", -0.3)),
        _tag(
            "usage_collapse", "使用量骤降", S, _all(_f("data_trend_3m", "<=", -0.5), _f("voice_trend_3m", "<=", -0.5))
        ),
        _tag("last_month_drop", "上月消费低于半年均值 30%", S, _f("arpu_trend_6m", "<=", -0.3)),
        _tag("low_balance", "余额不足 10 元", S, _f("balance_fen", "<", 1000)),
        _tag("negative_balance", "欠费", S, _f("balance_fen", "<", 0)),
        _tag("no_topup_3m", "3 个月未充值", S, _all(_f("topup_count_3m", "=", 0), _f("months_of_usage", ">=", 3))),
        _tag("low_activity", "月活跃不足 8 天", S, _all(_f("active_days", "<", 8), _f("months_of_usage", ">", 0))),
        _tag("silent_service", "已订购未使用业务", S, _f("silent_services", ">=", 1)),
        _tag(
            "voice_unused_high",
            "语音资源闲置(使用率<20%)",
            S,
            _all(_f("voice_use_ratio", "<", 0.2), _f("unused_voice_min", ">", 0)),
        ),
        _tag(
            "data_unused_high",
            "流量资源闲置(使用率<20%)",
            S,
            _all(_f("data_use_ratio", "<", 0.2), _f("unused_data_mb", ">", 0)),
        ),
        _tag("voice_overuse", "语音超套", S, _f("voice_use_ratio", ">", 1.0)),
        _tag("data_overuse", "流量超套", S, _f("data_use_ratio", ">", 1.0)),
        _tag("four_high_tariff", "四高-高资费", S, _f("four_high", "contains", "tariff")),
        _tag("four_high_payg", "四高-高套外流量", S, _f("four_high", "contains", "payg_data")),
        _tag("four_high_silence", "四高-高沉默", S, _f("four_high", "contains", "silence")),
        _tag("four_high_arpu", "四高-高 ARPU", S, _f("four_high", "contains", "arpu_mismatch")),
        _tag("four_high_any", "四高客户", S, _f("four_high", "not_empty")),
        # warning_coefficient is the calibrated churn probability on 0-100 (shared.churn.model)
        _tag("warning_high", "预警系数 ≥70", S, _f("warning_coefficient", ">=", 70)),
        _tag(
            "contract_expiring_risk",
            "合约将到期且有流失迹象",
            S,
            _all(
                _f("days_to_contract_end", "<=", 60),
                _any(_f("competitor_calls_90d", ">=", 1), _f("arpu_trend_3m", "<=", -0.2)),
            ),
        ),
        _tag("dual_sim_risk", "双卡且通话下滑", S, _all(_f("dual_sim", "=", True), _f("voice_trend_3m", "<=", -0.3))),
        _tag(
            "vip_at_risk",
            "贵宾客户有流失迹象",
            S,
            _all(_f("tier", "in", ["star5", "gold", "diamond"]), _f("segment", "=", "potential_loss")),
        ),
        _tag("new_and_quiet", "新入网低活跃", S, _all(_f("tenure_months", "<", 6), _f("active_days", "<", 10))),
        _tag(
            "old_handset_risk", "老旧终端且双卡", S, _all(_f("handset_age_months", ">=", 30), _f("dual_sim", "=", True))
        ),
    ]
    # --- latent product preference --------------------------------------------------------------
    tags += [
        _tag(
            "pref_data_pack", "适推流量包", P, _any(_f("data_use_ratio", ">", 0.9), _f("payg_data_3m_fen", ">=", 1000))
        ),
        _tag("pref_voice_pack", "适推语音包", P, _f("voice_use_ratio", ">", 0.9)),
        _tag(
            "pref_plan_upgrade",
            "适推套餐升档",
            P,
            _all(_f("data_use_ratio", ">", 1.0), _f("payg_data_3m_fen", ">=", 2000)),
        ),
        _tag(
            "pref_plan_downgrade",
            "适推套餐迁移(降档)",
            P,
            _all(_f("plan_fee_fen", ">=", 9900), _f("data_use_ratio", "<", 0.3), _f("voice_use_ratio", "<", 0.3)),
        ),
        _tag("pref_broadband", "适推宽带", P, _all(_f("broadband_gb", "=", 0), _f("data_mb", ">=", 20480))),
        _tag(
            "pref_broadband_upgrade",
            "适推宽带提速",
            P,
            _any(_f("complaints_network_90d", ">=", 1), _f("broadband_gb", ">=", 300)),
        ),
        _tag("pref_video_member", "适推视频会员", P, _all(_f("data_mb", ">=", 10240), _f("age_years", "<", 45))),
        _tag("pref_music_member", "适推音乐会员", P, _all(_f("data_mb", ">=", 3072), _f("age_years", "<", 30))),
        _tag(
            "pref_directional_video",
            "适推定向视频流量包",
            P,
            _all(_f("data_mb", ">=", 15360), _f("payg_data_3m_fen", ">", 0)),
        ),
        _tag("pref_family_plan", "适推亲情/家庭套餐", P, _all(_f("age_years", ">=", 30), _f("voice_min", ">=", 300))),
        _tag("pref_short_number", "适推短号畅打", P, _f("voice_min", ">=", 500)),
        _tag("pref_family_pay", "适推亲情支付", P, _all(_f("age_years", ">=", 55), _f("topup_count_3m", ">=", 3))),
        _tag(
            "pref_contract_deposit",
            "适推存费送费合约",
            P,
            _all(_f("days_to_contract_end", "is_null"), _f("tenure_months", ">=", 12), _f("arpu_fen", ">=", 5000)),
        ),
        _tag("pref_contract_renewal", "适推续约", P, _f("days_to_contract_end", "<=", 90)),
        _tag(
            "pref_recharge_bonus", "适推充值送费", P, _any(_f("balance_fen", "<", 2000), _f("topup_count_3m", ">=", 3))
        ),
        _tag("pref_handset_upgrade", "适推购机优惠", P, _f("handset_age_months", ">=", 24)),
        _tag(
            "pref_5g_handset", "适推 5G 终端", P, _all(_f("handset_age_months", ">=", 24), _f("data_mb", ">=", 10240))
        ),
        _tag("pref_roaming_pack", "适推漫游包", P, _f("roaming_ld_3m_fen", ">=", 1500)),
        _tag("pref_ld_pack", "适推长途优惠", P, _f("long_distance_fen", ">=", 1000)),
        _tag("pref_night_data", "适推夜间流量包", P, _all(_f("data_mb", ">=", 8192), _f("age_years", "<", 30))),
        _tag(
            "pref_cloud_storage",
            "适推云盘",
            P,
            _all(_f("handset_price_band", "in", ["high", "flagship"]), _f("data_mb", ">=", 5120)),
        ),
        _tag("pref_smart_home", "适推智慧家庭", P, _f("broadband_gb", ">=", 100)),
        _tag(
            "pref_home_wifi",
            "适推家庭 WiFi 覆盖",
            P,
            _all(_f("broadband_gb", ">", 0), _f("complaints_network_90d", ">=", 1)),
        ),
        _tag("pref_senior_plan", "适推老年套餐", P, _f("age_years", ">=", 65)),
        _tag("pref_youth_plan", "适推青春卡", P, _all(_f("age_years", "<", 25), _f("data_mb", ">=", 5120))),
        _tag("pref_points_exchange", "适推积分兑换", P, _f("tenure_months", ">=", 36)),
        _tag("pref_merchant_coupon", "适推商户优惠券", P, _all(_f("age_years", "<", 40), _f("active_days", ">=", 20))),
        _tag("pref_data_share", "适推流量共享", P, _all(_f("data_use_ratio", "<", 0.5), _f("data_mb", ">=", 2048))),
        _tag(
            "pref_voice_to_data",
            "适推语音转流量套餐",
            P,
            _all(_f("voice_use_ratio", "<", 0.3), _f("data_use_ratio", ">", 0.9)),
        ),
        _tag(
            "pref_data_to_voice",
            "适推流量转语音套餐",
            P,
            _all(_f("data_use_ratio", "<", 0.3), _f("voice_use_ratio", ">", 0.9)),
        ),
        _tag("pref_vip_benefits", "适推贵宾权益", P, _f("tier", "in", ["star5", "gold", "diamond"])),
        _tag("pref_caller_id", "适推来电提醒", P, _f("voice_min", ">=", 200)),
        _tag("pref_insurance", "适推碎屏险", P, _f("handset_age_months", "<", 3)),
        _tag(
            "pref_esim_watch",
            "适推智能手表副卡",
            P,
            _all(_f("handset_price_band", "=", "flagship"), _f("age_years", "<", 45)),
        ),
    ]
    # --- channel preference -------------------------------------------------------------------------
    for channel, label in [
        ("hall", "营业厅"),
        ("outbound_call", "外呼"),
        ("sms", "短信"),
        ("app_push", "APP 推送"),
        ("hotline", "热线"),
        ("partner_app", "合作方 APP"),
    ]:
        tags.append(_tag(f"chan_{channel}", f"偏好渠道-{label}", C, _f("preferred_channel", "=", channel)))
        tags.append(_tag(f"hist_{channel}", f"{label}触达成功过", C, _f("best_channel", "=", channel)))
    tags += [
        _tag("chan_dnd", "免打扰客户", C, _f("do_not_disturb", "=", True)),
        _tag("chan_refused_recently", "近 30 天拒绝营销", C, _f("refusals_30d", ">=", 1)),
        _tag("chan_never_touched", "半年未接触", C, _f("touches_180d", "=", 0)),
        _tag("chan_often_touched", "半年接触 ≥6 次", C, _f("touches_180d", ">=", 6)),
        _tag("chan_responsive", "营销响应积极(成功 ≥2 次)", C, _f("touch_successes_180d", ">=", 2)),
        _tag(
            "chan_unresponsive",
            "多次接触无响应",
            C,
            _all(_f("touches_180d", ">=", 3), _f("touch_successes_180d", "=", 0)),
        ),
        _tag("chan_month_cap_near", "本月接触已达 3 次", C, _f("touches_this_month", ">=", 3)),
        _tag(
            "chan_online_native",
            "线上原生用户",
            C,
            _all(_f("age_years", "<", 35), _f("active_days", ">=", 20), _f("data_mb", ">=", 3072)),
        ),
        _tag("chan_offline_senior", "线下偏好长者", C, _f("age_years", ">=", 60)),
        _tag("chan_voice_reachable", "电话易触达", C, _f("voice_min", ">=", 300)),
        _tag("chan_app_candidate", "APP 引流对象", C, _all(_f("data_mb", ">=", 2048), _f("touches_180d", "=", 0))),
        _tag("chan_manager_served", "客户经理服务对象", C, _f("tier", "in", ["star5", "gold", "diamond"])),
    ]
    return tags
