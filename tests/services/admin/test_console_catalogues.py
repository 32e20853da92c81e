"""The console's message catalogues and role gates, checked without a browser.

- zh-CN and en hold exactly the same keys, no empty message, the same {placeholders};
- every key the console's code names literally (t("…"), label("kind", …) over known values)
  exists in both;
- every value of the backend's closed value sets (tiers, stages, four-high kinds, engine stages,
  KPI codes, rule fields and operators, roles, …) has a label in both languages, so a new stage or
  field without a translation fails here;
- every screen and action in roles.js admits exactly the roles of the API route it stands for.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, get_args

import pytest

from admin_app.app import create_app
from admin_app.routers import campaigns as campaigns_router
from admin_app.routers import catalog, fourhigh, imports, jobs, org, tags
from admin_app.routers import engine as engine_router
from shared.backoffice.permissions import PERMISSIONS, ROLES
from shared.campaigns.query import AudienceQuery
from shared.engine import rules as rule_compiler
from shared.engine.clusters import FEATURES as CLUSTER_FEATURES
from shared.engine.runner import STAGE_NAMES
from shared.jobs.queue import Task
from shared.manager.kpis import INDICATORS
from shared.programme import settings as programme_settings
from tests.fixtures.routes import api_routes, declared_roles

CONSOLE = Path(__file__).resolve().parents[3] / "services" / "admin" / "src" / "admin_app" / "static" / "console"
LANGS = ("zh-CN", "en")
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogue(lang: str) -> dict[str, Any]:
    return json.loads((CONSOLE / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def sources() -> dict[str, str]:
    return {str(p.relative_to(CONSOLE)): p.read_text(encoding="utf-8") for p in sorted((CONSOLE / "js").rglob("*.js"))}


def forms(msg: Any) -> list[str]:
    """A message's texts: a plain string, or each plural form."""
    return list(msg.values()) if isinstance(msg, dict) else [msg]


def literal(args: Any) -> list[str]:
    return [a for a in get_args(args) if isinstance(a, str)]


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert sorted(set(zh) - set(en)) == [], "keys missing in en"
    assert sorted(set(en) - set(zh)) == [], "keys missing in zh-CN"
    for key in zh:
        for lang, msg in (("zh-CN", zh[key]), ("en", en[key])):
            assert isinstance(msg, (str, dict)), (lang, key)
            assert all(isinstance(f, str) and f.strip() for f in forms(msg)), f"{lang}: empty message {key}"
            if isinstance(msg, dict):
                assert "other" in msg, f"{lang}: plural {key} needs an 'other' form"
        names = {
            lang: {n for f in forms(msg) for n in PLACEHOLDER.findall(f)}
            for lang, msg in (("zh-CN", zh[key]), ("en", en[key]))
        }
        assert names["zh-CN"] == names["en"], f"{key}: placeholders differ {names}"


def test_chinese_messages_are_chinese() -> None:
    """A zh-CN message identical to its English one is an untranslated copy (codes and units aside)."""
    zh, en = catalogue("zh-CN"), catalogue("en")

    def words(msg: Any) -> bool:
        return bool(re.search(r"[a-z]{4,}", PLACEHOLDER.sub("", json.dumps(msg, ensure_ascii=False))))

    same = [k for k in zh if zh[k] == en[k] and words(zh[k]) and not k.startswith("enum.metric.")]
    assert same == [], f"zh-CN messages still in English: {same}"


def test_every_literal_key_in_the_code_exists() -> None:
    zh = catalogue("zh-CN")
    used: dict[str, str] = {}
    for name, text in sources().items():
        for m in re.finditer(r"""\b(?:t|tx|has)\(\s*["']([a-z][\w.-]*)["']""", text):
            used.setdefault(m.group(1), name)
    assert len(used) > 500, "the scan sees the console's keys"
    missing = sorted(f"{k} ({f})" for k, f in used.items() if k not in zh)
    assert missing == [], f"keys used in the code but missing in the catalogues: {missing}"


def test_enum_labels_cover_the_backend_value_sets() -> None:
    query = AudienceQuery.model_fields
    sets: dict[str, list[str]] = {
        "tier": literal(query["tiers"].annotation.__args__[0]),
        "risk": literal(query["risk_levels"].annotation.__args__[0]) + ["unscored"],
        "stage": literal(query["lifecycle_stages"].annotation.__args__[0]),
        "four_high": literal(fourhigh.Kind),
        "engine_stage": list(STAGE_NAMES),
        "kpi": [code for code, _, _ in INDICATORS],
        "field": list(rule_compiler.FIELDS),
        "op": sorted(set().union(*rule_compiler.OPS.values())),
        "field_type": list(rule_compiler.OPS),
        "role": list(ROLES),
        "product_kind": literal(catalog.Kind),
        "channel": literal(campaigns_router.Channel),
        "flow": literal(campaigns_router.Flow),
        "status": literal(campaigns_router.Status),
        "import_kind": literal(imports.Kind),
        "family": literal(tags.Family),
        "org_kind": literal(org.Kind),
        "cluster_feature": [name for name, _, _ in CLUSTER_FEATURES],
        "job_status": literal(jobs.Status),
        "job_task": [task.value for task in Task],
        "task_kind": ["routine", "birthday", "holiday", "churn", "four_high", "key_moment", "campaign"],
    }
    for key in get_args(engine_router.SettingKey):  # the engine's settings, edited on the engine screen
        sets[f"setting.{key}"] = list(programme_settings.DEFAULTS[key])
    for lang in LANGS:
        cat = catalogue(lang)
        missing = [f"enum.{kind}.{v}" for kind, values in sets.items() for v in values if f"enum.{kind}.{v}" not in cat]
        assert missing == [], f"{lang}: labels missing for {missing}"


def test_kpi_names_are_seed_001_table_1() -> None:
    zh = catalogue("zh-CN")
    assert [zh[f"enum.kpi.{code}"] for code, _, _ in INDICATORS] == [
        "月客户例行关怀计划完成情况",
        "客户生日、节假日等重要节点问候情况",
        "专属特权客户知晓度",
        "专属优惠活动客户参与率",
        "中高端客户营销活动合约率",
        "中高端客户价值及在网保有率",
        "中高端客户满意度",
    ]
    kpis_js = sources()["js/screens/kpis.js"]
    table = kpis_js.split("export const KPIS = ")[1].split(";")[0]
    weights = dict(re.findall(r'\["(\w+)", (\d)\]', table))
    assert {code: int(w) for code, w in weights.items()} == {code: w for code, _, w in INDICATORS}


ENTRY = re.compile(
    r"""(?:\{ id: "(?P<id>\w+)"|(?P<action>\w+): \{)[^\n]*?"""
    r"""(?:perm: "(?P<perm>[\w.]+)"|roles: (?P<roles>\w+))[^\n]*?api: "(?P<api>[^"]+)" \}"""
)


def console_gates() -> list[dict[str, str]]:
    text = sources()["js/roles.js"]
    constants = {name: json.loads(value) for name, value in re.findall(r"export const (\w+) = (\[[^\]\n]*\]);", text)}
    gates = []
    for m in ENTRY.finditer(text):
        gate = m.groupdict()
        gate["roles_list"] = constants[gate["roles"]] if gate["roles"] else None
        gates.append(gate)
    return gates


def test_every_console_gate_admits_exactly_the_roles_of_its_route() -> None:
    gates = console_gates()
    screens, actions = [g for g in gates if g["id"]], [g for g in gates if g["action"]]
    assert len(screens) == 22 and len(actions) >= 25, "the scan sees roles.js"
    routes = {(method, r.path): declared_roles(r) for r in api_routes(create_app()) for method in r.methods}
    problems = []
    for gate in gates:
        name = gate["id"] or gate["action"]
        if gate["perm"]:
            if gate["perm"] not in PERMISSIONS:
                problems.append(f"{name}: unknown permission {gate['perm']}")
                continue
            console = set(PERMISSIONS[gate["perm"]])
        else:
            console = set(gate["roles_list"])
        method, path = gate["api"].split(" ", 1)
        if "?" in path:  # a permission checked inside the route (e.g. unmask), not by its dependency
            continue
        api = routes.get((method, path))
        if api is None:
            problems.append(f"{name}: no route {gate['api']}")
        elif api != console:
            problems.append(f"{name}: console admits {sorted(console)}, {gate['api']} admits {sorted(api)}")
    assert problems == [], problems


@pytest.mark.parametrize("screen", [g["id"] for g in console_gates() if g["id"]])
def test_every_screen_has_a_module_and_a_menu_label(screen: str) -> None:
    assert (CONSOLE / "js" / "screens" / f"{screen}.js").is_file()
    for lang in LANGS:
        assert f"nav.{screen}" in catalogue(lang)


def test_jobs_screen_filters_offer_every_task_and_status() -> None:
    """The jobs screen's filter lists are the queue's tasks and the API's statuses, nothing more or less."""
    jobs_js = sources()["js/screens/jobs.js"]

    def listed(name: str) -> list[str]:
        return re.findall(r'"([\w.]+)"', jobs_js.split(f"export const {name} = [")[1].split("];")[0])

    assert listed("JOB_TASKS") == [task.value for task in Task]
    assert listed("JOB_STATUSES") == literal(jobs.Status)
