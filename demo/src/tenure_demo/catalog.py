"""Static reference data for the synthetic city: the product library, names, places, handsets.

Modelled on a Zhejiang prefecture-level city (seed 002 is from Shaoxing) and China Mobile's
current retail line-up; amounts are fen, data MB, voice minutes.
"""

from __future__ import annotations

from typing import Any

GB = 1024

# Plans in ascending monthly fee. Plans from 88 yuan up include domestic long-distance and roaming,
# so `roaming_fen`/`long_distance_fen` on the cheaper ones is the "high tariff" signal (seed 004).
PLANS: list[dict[str, Any]] = [
    {"code": "PLAN-018", "name": "神州行畅聊卡 18元", "fee": 1800, "voice": 50, "data": 3 * GB, "sms": 0},
    {"code": "PLAN-038", "name": "动感地带芒果卡 38元", "fee": 3800, "voice": 100, "data": 10 * GB, "sms": 0},
    {"code": "PLAN-058", "name": "5G畅享套餐 58元", "fee": 5800, "voice": 200, "data": 20 * GB, "sms": 50},
    {"code": "PLAN-088", "name": "5G畅享套餐 88元", "fee": 8800, "voice": 300, "data": 30 * GB, "sms": 100},
    {"code": "PLAN-128", "name": "5G智享套餐 128元", "fee": 12800, "voice": 500, "data": 40 * GB, "sms": 100},
    {"code": "PLAN-188", "name": "全球通尊享套餐 188元", "fee": 18800, "voice": 800, "data": 60 * GB, "sms": 200},
    {"code": "PLAN-288", "name": "全球通尊享套餐 288元", "fee": 28800, "voice": 1500, "data": 100 * GB, "sms": 300},
]
PLAN_INCLUDES_ROAMING_FROM = 3  # index of the first plan covering long-distance/roaming
PAYG_FEN_PER_GB = 500  # pay-per-use data beyond the allowance: 5 yuan per GB
VOICE_OVER_FEN_PER_MIN = 15
SMS_OVER_FEN = 10


def _plan_products() -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(PLANS):
        covers = i >= PLAN_INCLUDES_ROAMING_FROM
        out.append(
            {
                "code": p["code"],
                "name": p["name"],
                "kind": "plan",
                "monthly_fee_fen": p["fee"],
                "one_time_fee_fen": 0,
                "data_mb": p["data"],
                "voice_min": p["voice"],
                "sms": p["sms"],
                "duration_months": None,
                "eligibility": {"max_per_customer": 1, "includes_roaming": covers},
                "selling_points": (
                    f"每月{p['voice']}分钟国内通话、{p['data'] // GB}GB通用流量"
                    + ("，含国内长途和漫游，出行不再担心长漫费" if covers else "；超出按5元/GB计费")
                ),
                "description": "套餐月费按月收取，次月生效；升档当月生效、降档次月生效。",
            }
        )
    return out


PRODUCTS: list[dict[str, Any]] = _plan_products() + [
    # data packs (monthly), including app-targeted packs (定向流量包)
    {
        "code": "DATA-5G-30",
        "name": "5GB流量月包",
        "kind": "data_pack",
        "monthly_fee_fen": 3000,
        "data_mb": 5 * GB,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 2},
        "selling_points": "比按量计费省一半以上，超出套餐再也不怕扣费",
    },
    {
        "code": "DATA-10G-50",
        "name": "10GB流量月包",
        "kind": "data_pack",
        "monthly_fee_fen": 5000,
        "data_mb": 10 * GB,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 2},
        "selling_points": "重度上网用户首选，5元/GB降到5元/2GB",
    },
    {
        "code": "DATA-NIGHT-10",
        "name": "夜间流量包(23-7点)20GB",
        "kind": "data_pack",
        "monthly_fee_fen": 1000,
        "data_mb": 20 * GB,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "夜间追剧下载专用",
    },
    {
        "code": "DATA-TGT-VIDEO",
        "name": "视频定向流量包 30GB",
        "kind": "data_pack",
        "monthly_fee_fen": 1500,
        "data_mb": 30 * GB,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 1, "targeted_apps": ["抖音", "快手", "腾讯视频", "爱奇艺", "咪咕视频"]},
        "selling_points": "刷抖音、看剧不走通用流量",
    },
    {
        "code": "DATA-TGT-GAME",
        "name": "游戏定向流量包 20GB",
        "kind": "data_pack",
        "monthly_fee_fen": 1000,
        "data_mb": 20 * GB,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 1, "targeted_apps": ["王者荣耀", "和平精英", "原神"]},
        "selling_points": "游戏低时延专享",
    },
    {
        "code": "DATA-DAY-1G",
        "name": "1元1GB日包",
        "kind": "data_pack",
        "monthly_fee_fen": 0,
        "one_time_fee_fen": 100,
        "data_mb": GB,
        "duration_months": None,
        "eligibility": {},
        "selling_points": "临时救急，当日有效",
    },
    # voice packs
    {
        "code": "VOICE-100-10",
        "name": "100分钟国内语音包",
        "kind": "voice_pack",
        "monthly_fee_fen": 1000,
        "voice_min": 100,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "打电话多的长辈首选",
    },
    {
        "code": "VOICE-300-25",
        "name": "300分钟国内语音包",
        "kind": "voice_pack",
        "monthly_fee_fen": 2500,
        "voice_min": 300,
        "duration_months": 1,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "长话长聊，比标准资费省6成",
    },
    # contracts: "deposit and get 40-50% back monthly" (存就送) and minimum-spend contracts
    {
        "code": "CONTRACT-CJS-40-12",
        "name": "存就送·预存300元月返40%(12个月)",
        "kind": "contract",
        "one_time_fee_fen": 30000,
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1, "plan_min_fee_fen": 3800},
        "selling_points": "预存300元，12个月每月返还月费40%话费，相当于套餐打6折",
    },
    {
        "code": "CONTRACT-CJS-50-24",
        "name": "存就送·预存600元月返50%(24个月)",
        "kind": "contract",
        "one_time_fee_fen": 60000,
        "duration_months": 24,
        "eligibility": {"max_per_customer": 1, "plan_min_fee_fen": 5800},
        "selling_points": "预存600元，24个月每月返还月费50%话费或等值流量",
    },
    {
        "code": "CONTRACT-MIN-199",
        "name": "合约保底消费199元(24个月送手机)",
        "kind": "contract",
        "monthly_fee_fen": 0,
        "duration_months": 24,
        "eligibility": {"max_per_customer": 1, "min_monthly_spend_fen": 19900},
        "selling_points": "承诺在网24个月、月最低消费199元，享购机补贴",
    },
    {
        "code": "CONTRACT-STAY-12",
        "name": "在网承诺12个月享流量翻倍",
        "kind": "contract",
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1, "min_tier": "star3"},
        "selling_points": "承诺在网一年，套餐内流量翻倍",
    },
    # recharge and get bonus, paid out over 6+ months (充值送)
    {
        "code": "RECHARGE-100-6",
        "name": "充100送60(分6个月返)",
        "kind": "recharge_bonus",
        "one_time_fee_fen": 10000,
        "duration_months": 6,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "充100元，6个月每月返10元话费+1GB流量",
    },
    {
        "code": "RECHARGE-200-12",
        "name": "充200送240(分12个月返)",
        "kind": "recharge_bonus",
        "one_time_fee_fen": 20000,
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1, "min_tier": "star2"},
        "selling_points": "充200元，12个月每月返20元话费",
    },
    # broadband
    {
        "code": "BB-300M",
        "name": "家庭宽带300M",
        "kind": "broadband",
        "monthly_fee_fen": 3000,
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "58元及以上套餐加30元享300M宽带",
    },
    {
        "code": "BB-1000M",
        "name": "千兆宽带+全屋WiFi",
        "kind": "broadband",
        "monthly_fee_fen": 6000,
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1, "plan_min_fee_fen": 8800},
        "selling_points": "千兆光纤+FTTR全屋组网，工程师上门",
    },
    {
        "code": "BB-SPEEDUP",
        "name": "宽带提速包(300M升1000M)",
        "kind": "broadband",
        "monthly_fee_fen": 2000,
        "duration_months": 12,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "投诉卡顿的客户优先推荐，当天提速",
    },
    # family
    {
        "code": "FAMILY-PAY",
        "name": "亲情付(最多4人合账)",
        "kind": "family",
        "monthly_fee_fen": 0,
        "eligibility": {"max_per_customer": 1, "max_members": 4},
        "selling_points": "一人付费全家用，短号互打免费",
    },
    {
        "code": "FAMILY-SHARE-10",
        "name": "家庭流量共享",
        "kind": "family",
        "monthly_fee_fen": 1000,
        "eligibility": {"max_per_customer": 1, "plan_min_fee_fen": 5800},
        "selling_points": "主卡流量副卡共享，最多3张副卡",
    },
    # memberships
    {
        "code": "MEM-TENCENT",
        "name": "腾讯视频VIP会员",
        "kind": "membership",
        "monthly_fee_fen": 1500,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "会员专享剧集，合约用户首月免费",
    },
    {
        "code": "MEM-IQIYI",
        "name": "爱奇艺黄金会员",
        "kind": "membership",
        "monthly_fee_fen": 1500,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "热播剧抢先看",
    },
    {
        "code": "MEM-MIGU",
        "name": "咪咕视频钻石会员",
        "kind": "membership",
        "monthly_fee_fen": 1500,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "体育赛事直播+免流",
    },
    {
        "code": "MEM-QQMUSIC",
        "name": "QQ音乐豪华绿钻",
        "kind": "membership",
        "monthly_fee_fen": 1500,
        "eligibility": {"max_per_customer": 1},
        "selling_points": "无损音质，免流量",
    },
    {
        "code": "MEM-VIP-RIGHTS",
        "name": "全球通贵宾权益包",
        "kind": "membership",
        "monthly_fee_fen": 0,
        "eligibility": {"max_per_customer": 1, "min_tier": "star5"},
        "selling_points": "机场高铁贵宾厅、免费停机保号、专属客户经理",
    },
]
for _p in PRODUCTS:
    for _k in ("monthly_fee_fen", "one_time_fee_fen", "data_mb", "voice_min", "sms"):
        _p.setdefault(_k, 0)
    _p.setdefault("duration_months", None)
    _p.setdefault("description", _p["selling_points"])

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = list("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建峰亮成志文博晨昊瑞泽轩")
GIVEN_FEMALE = list("芳娜敏静丽艳娟霞燕玲桂丹萍红玉兰琳婷雪慧莹晶颖倩洁梅琴云莉秀英佳欣怡悦萱涵雨思晓")

# (district, 6-digit administrative code, towns used for extra branches)
DISTRICTS = [
    ("越城区", "330602", ["府山", "北海", "塔山", "稽山", "东湖", "皋埠"]),
    ("柯桥区", "330603", ["柯桥", "华舍", "齐贤", "钱清", "杨汛桥", "平水"]),
    ("上虞区", "330604", ["百官", "曹娥", "东关", "章镇", "崧厦", "丰惠"]),
    ("诸暨市", "330681", ["暨阳", "陶朱", "店口", "枫桥", "大唐", "次坞"]),
    ("嵊州市", "330683", ["剡湖", "三江", "鹿山", "甘霖", "长乐", "黄泽"]),
    ("新昌县", "330624", ["南明", "七星", "羽林", "澄潭", "儒岙", "沙溪"]),
]
ROADS = [
    "解放路",
    "中兴路",
    "人民路",
    "胜利路",
    "延安路",
    "环城西路",
    "笛扬路",
    "迪荡路",
    "镜湖大道",
    "群贤路",
    "金柯桥大道",
    "百官大道",
    "江东路",
    "望云路",
    "艇湖路",
    "鼓山路",
    "城东路",
]

# brand, models by price band (low / mid / high / flagship), dual-SIM share
HANDSETS = {
    "Apple": {"high": ["iPhone 15", "iPhone 14"], "flagship": ["iPhone 16 Pro", "iPhone 17 Pro Max"]},
    "Huawei": {
        "mid": ["nova 12", "畅享 70"],
        "high": ["Pura 70", "nova 13 Pro"],
        "flagship": ["Mate 70 Pro", "Mate X6"],
    },
    "Xiaomi": {"low": ["Redmi 13C", "Redmi Note 13"], "mid": ["Redmi K70", "Xiaomi Civi 4"], "high": ["Xiaomi 15"]},
    "OPPO": {"low": ["A3x", "A2"], "mid": ["Reno12", "K12"], "high": ["Find X8"]},
    "vivo": {"low": ["Y37", "Y200"], "mid": ["S19", "iQOO Z9"], "high": ["X200"]},
    "Honor": {"low": ["畅玩 50", "X50i"], "mid": ["Honor 200", "X60"], "high": ["Magic7"]},
    "Samsung": {"mid": ["Galaxy A55"], "flagship": ["Galaxy S25 Ultra", "Galaxy Z Fold6"]},
    "Nokia": {"low": ["105 4G"]},
}
PRICE_BANDS = ["low", "mid", "high", "flagship"]

COMPETITORS = ["china_unicom", "china_telecom", "china_broadnet"]
COMPLAINT_CATEGORIES = ["network", "tariff", "service", "billing"]
COMPLAINT_CHANNELS = ["hotline", "hall", "app", "wechat", "regulator"]
SUB_CHANNELS = ["hall", "app", "outbound_call", "sms", "hotline", "partner_app"]

MERCHANT_CATEGORIES = {
    "food": ["咸亨酒店", "老绍兴臭豆腐", "沈记面馆", "兰亭小笼", "鉴湖鱼庄", "越味楼", "孔乙己茴香豆", "乌篷船农家菜"],
    "beverage": ["蜜雪冰城", "古茗", "瑞幸咖啡", "茶百道", "一点点", "书亦烧仙草"],
    "cinema": ["万达影城", "横店电影城", "CGV影城", "博纳国际影城"],
    "supermarket": ["华润万家", "世纪联华", "物美超市", "永辉超市", "供销超市"],
    "fitness": ["乐刻健身", "一兆韦德", "超级猩猩", "舒适堡"],
    "beauty": ["丝域养发", "克丽缇娜", "名匠发艺"],
    "fuel": ["中石化加油站", "中石油加油站"],
    "books": ["新华书店", "钟书阁"],
    "pharmacy": ["震元堂大药房", "老百姓大药房", "海王星辰"],
}
