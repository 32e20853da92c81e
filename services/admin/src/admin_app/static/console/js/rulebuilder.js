// A visual editor for rule trees in the tag-rule grammar (shared/engine/rules.py):
//   node := {"all": [node…]} | {"any": [node…]} | {"not": node} | {"field", "op", "value"}
// Fields and operators come from the compiler's whitelist (GET /v1/tags/fields); values are picked
// from the field's closed value set where it has one (tiers, stages, …, clusters, branches,
// plans), amounts in fen are edited in yuan. Groups are "all of" (AND), "any of" (OR) or "none of"
// ({"not": {"any": …}}). The JSON stays available as an advanced view, two-way: a tree the builder
// cannot show (an unknown field, say) is kept and sent exactly as written, so the server explains
// what is wrong with it.

import { get, listOf } from "./api.js";
import {
  FOUR_HIGH_CODES, RISK_CODES, SEGMENT_CODES, STAGE_CODES, SUB_SEGMENT_CODES, TIER_CODES, clear, errorBox, fmt, h, labelOr,
  loading, notice, t,
} from "./ui.js";

const CHANNELS = ["app_push", "app", "sms", "outbound_call", "manager_call", "manager_visit", "hall", "hotline", "partner_app"];
const CLOSED = {
  tier: ["tier", TIER_CODES], lifecycle_stage: ["stage", STAGE_CODES], segment: ["segment", SEGMENT_CODES],
  sub_segment: ["sub_segment", SUB_SEGMENT_CODES], risk_level: ["risk", RISK_CODES], preferred_channel: ["channel", CHANNELS],
  best_channel: ["channel", CHANNELS], four_high: ["four_high", FOUR_HIGH_CODES], gender: ["gender", ["M", "F"]],
};
// Menu sections of the field picker; a field the server adds later lands in "other".
const SECTIONS = [
  ["customer", ["tier", "gender", "age_years", "tenure_months", "branch_id", "plan_id", "do_not_disturb", "has_email"]],
  ["profile", ["lifecycle_stage", "segment", "sub_segment", "cluster_id", "risk_level", "churn_score", "warning_coefficient", "preferred_channel", "four_high"]],
  ["spend", ["plan_fee_fen", "arpu_fen", "arpu_6m_fen", "last_bill_fen", "arpu_trend_3m", "arpu_trend_6m", "payg_data_fen", "payg_data_3m_fen",
    "roaming_fen", "long_distance_fen", "roaming_ld_3m_fen", "balance_fen", "topup_3m_fen", "topup_count_3m"]],
  ["usage", ["voice_min", "data_mb", "sms", "voice_trend_3m", "data_trend_3m", "voice_use_ratio", "data_use_ratio", "unused_voice_min",
    "unused_data_mb", "active_days", "months_of_usage", "active_subscriptions", "silent_services", "broadband_gb"]],
  ["service", ["complaints_90d", "complaints_network_90d", "complaints_tariff_90d", "complaints_service_90d", "unresolved_complaints",
    "min_satisfaction", "competitor_calls_30d", "competitor_calls_90d"]],
  ["handset", ["handset_brand", "handset_price_band", "handset_age_months", "handset_changes_12m", "dual_sim"]],
  ["contact", ["days_to_contract_end", "days_to_birthday", "touches_180d", "touch_successes_180d", "touches_this_month", "refusals_30d", "best_channel"]],
];
const NO_VALUE = new Set(["is_null", "not_null", "is_empty", "not_empty"]);
const MULTI = new Set(["in", "not_in", "contains_any"]);
const isFen = (field) => field.endsWith("_fen");

class Unshowable extends Error {}

// Labelled ids for the fields that hold one (clusters, branches, plans), from what the caller may read.
async function idChoices() {
  const out = {};
  const fill = async (field, path, query, name) => {
    try { out[field] = listOf(await get(path, query)).map((x) => [String(name(x).id), name(x).label]); } catch (e) { /* a number input will do */ }
  };
  await Promise.all([
    fill("cluster_id", "/v1/engine/clusters", {}, (c) => ({ id: c.cluster_id, label: `${c.cluster_id} · ${c.label}` })),
    fill("branch_id", "/v1/org-units", { kind: "branch" }, (u) => ({ id: u.id, label: u.name })),
    fill("plan_id", "/v1/products", { kind: "plan", limit: 100 }, (p) => ({ id: p.id, label: p.name })),
  ]);
  return out;
}

export async function loadFields() {
  const [fields, ids] = await Promise.all([get("/v1/tags/fields").then(listOf), idChoices()]);
  return { fields: Object.fromEntries(fields.map((f) => [f.field, f])), ids };
}

// ---- the tree model ----------------------------------------------------------------------
function fromNode(node, fields) {
  if (!node || typeof node !== "object" || Array.isArray(node)) throw new Unshowable();
  const keys = Object.keys(node);
  if (keys.length === 1 && (keys[0] === "all" || keys[0] === "any")) {
    if (!Array.isArray(node[keys[0]])) throw new Unshowable();
    return { type: "group", mode: keys[0], items: node[keys[0]].map((n) => fromNode(n, fields)) };
  }
  if (keys.length === 1 && keys[0] === "not") {
    const inner = node.not;
    if (inner && typeof inner === "object" && Object.keys(inner).length === 1 && Array.isArray(inner.any)) {
      return { type: "group", mode: "none", items: inner.any.map((n) => fromNode(n, fields)) };
    }
    return { type: "group", mode: "none", items: [fromNode(inner, fields)] };
  }
  if ("field" in node && "op" in node && keys.every((k) => ["field", "op", "value"].includes(k))) {
    const f = fields[node.field];
    if (!f || !(f.operators || []).includes(node.op)) throw new Unshowable();
    return { type: "cond", field: node.field, op: node.op, value: node.value };
  }
  throw new Unshowable();
}

function toNode(item) {
  if (item.type === "cond") {
    const out = { field: item.field, op: item.op };
    if (!NO_VALUE.has(item.op)) out.value = item.value;
    return out;
  }
  const items = item.items.map(toNode);
  if (item.mode === "none") return { not: { any: items } };
  return { [item.mode]: items };
}

function fromRule(rule, fields) {
  if (rule === null || rule === undefined) return { type: "group", mode: "all", items: [] };
  const node = fromNode(rule, fields);
  return node.type === "group" ? node : { type: "group", mode: "all", items: [node] };
}

// Why a tree cannot be sent yet (an empty group, a condition without its value), or null.
function problem(item) {
  if (item.type === "group") {
    if (!item.items.length) return t("rb.empty_group");
    for (const i of item.items) { const p = problem(i); if (p) return p; }
    return null;
  }
  if (NO_VALUE.has(item.op)) return null;
  const v = item.value;
  const bad = v === undefined || v === null || v === "" || (Array.isArray(v) && (!v.length || v.some((x) => x === null || x === "" || Number.isNaN(x))))
    || (typeof v === "number" && Number.isNaN(v));
  return bad ? t("rb.needs_value", { field: labelOr("field", item.field) }) : null;
}

// ---- words -------------------------------------------------------------------------------
function valueText(field, v, ids) {
  const one = (x) => {
    if (CLOSED[field]) return labelOr(CLOSED[field][0], x);
    if (ids && ids[field]) return (ids[field].find(([id]) => id === String(x)) || [null, `#${x}`])[1];
    if (typeof x === "boolean") return x ? t("ui.yes") : t("ui.no");
    if (isFen(field) && typeof x === "number") return fmt.fen(x);
    return typeof x === "number" ? fmt.num(x, Number.isInteger(x) ? 0 : 2) : String(x);
  };
  return Array.isArray(v) ? v.map(one) : one(v);
}

// A rule in one line: "星级 属于其一 金卡或钻石，且（流量 ≥ …）".
export function ruleText(rule, ids) {
  const node = (n) => {
    if (!n || typeof n !== "object") return JSON.stringify(n);
    if (Array.isArray(n.all)) return n.all.length === 1 ? node(n.all[0]) : t("rb.text.all", { items: n.all.map(node).join(t("rb.text.and")) });
    if (Array.isArray(n.any)) return n.any.length === 1 ? node(n.any[0]) : t("rb.text.any", { items: n.any.map(node).join(t("rb.text.or")) });
    if ("not" in n) return t("rb.text.not", { item: node(n.not && Array.isArray(n.not.any) && n.not.any.length === 1 ? n.not.any[0] : n.not) });
    if ("field" in n) {
      const v = valueText(n.field, n.value, ids);
      const text = n.op === "between" && Array.isArray(v) ? t("rb.text.between", { lo: v[0], hi: v[1] })
        : Array.isArray(v) ? (n.op === "not_in" ? fmt.allOf(v) : fmt.anyOf(v)) : v;
      return NO_VALUE.has(n.op) ? `${labelOr("field", n.field)} ${labelOr("op", n.op)}` : `${labelOr("field", n.field)} ${labelOr("op", n.op)} ${text}`;
    }
    return JSON.stringify(n);
  };
  return node(rule);
}

// ---- the editor --------------------------------------------------------------------------
// ruleBuilder({rule, meta, count, id}) → {el, value(), set(rule)}. value() throws an Error with a
// readable message when the tree is incomplete or the JSON does not parse; count(rule) resolves
// to the text of the live count.
export function ruleBuilder({ rule, meta, count, id = "rule", allowEmpty = false, jsonLabel }) {
  const { fields, ids } = meta;
  let tree;
  let raw = null; // the JSON as written when the builder cannot show it
  try { tree = fromRule(rule, fields); } catch (e) { tree = fromRule(null, fields); raw = rule; }
  const canvas = h("div", { class: "rb-canvas", id: `${id}-builder` });
  const status = h("div", { class: "rb-status" });
  const live = h("div", { class: "live-count", id: `${id}-live`, "aria-live": "polite" });
  const json = h("textarea", { class: "mono", id: `f-${id}`, rows: 8, spellcheck: "false" });
  const advanced = h("details", { class: "advanced", id: `${id}-advanced` }, h("summary", { id: `${id}-json-toggle` }, jsonLabel || t("rb.json")),
    h("p", { class: "help" }, t("rb.json_help")), json);
  const el = h("div", { class: "rule-builder" }, canvas, status, live, advanced);
  let timer = null;
  let seq = 0;

  const current = () => {
    if (raw !== null) return raw;
    if (!tree.items.length && allowEmpty) return null;
    const p = problem(tree);
    if (p) throw new Error(p);
    return toNode(tree);
  };
  const recount = () => {
    if (!count) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      let r;
      try { r = current(); } catch (e) { clear(live); return; }
      if (r === null) { clear(live); return; }
      const mine = ++seq;
      clear(live, loading(t("ui.counting")));
      try {
        const text = await count(r);
        if (mine === seq) clear(live, notice("info", text));
      } catch (err) {
        if (mine === seq) clear(live, errorBox(err));
      }
    }, 500);
  };
  const changed = ({ fromJson = false } = {}) => {
    if (!fromJson) {
      try {
        const r = current();
        json.value = r === null ? "" : JSON.stringify(r, null, 2);
        json.classList.remove("invalid");
        clear(status);
      } catch (e) {
        clear(status, h("p", { class: "help" }, e.message));
      }
    }
    el.dispatchEvent(new Event("change", { bubbles: true }));
    recount();
  };

  json.addEventListener("input", () => {
    let parsed;
    try {
      parsed = json.value.trim() ? JSON.parse(json.value) : null;
    } catch (e) {
      json.classList.add("invalid");
      clear(status, notice("error", t("rb.bad_json")));
      return;
    }
    json.classList.remove("invalid");
    try {
      tree = fromRule(parsed, fields);
      raw = null;
      clear(status);
    } catch (e) {
      raw = parsed;
      clear(status, notice("info", t("rb.unshowable")));
    }
    draw();
    changed({ fromJson: true });
  });

  function fieldSelect(item) {
    const known = new Set(SECTIONS.flatMap(([, fs]) => fs));
    const others = Object.keys(fields).filter((f) => !known.has(f));
    const opt = (f) => h("option", { value: f, selected: f === item.field }, labelOr("field", f));
    return h("select", { class: "rb-field", "aria-label": t("rb.field"), onchange: (ev) => {
      item.field = ev.target.value;
      item.op = defaultOp(item.field);
      item.value = defaultValue(item.field, item.op);
      draw();
      changed();
    } },
    SECTIONS.map(([name, fs]) => h("optgroup", { label: t(`rb.section.${name}`) }, fs.filter((f) => fields[f]).map(opt))),
    others.length ? h("optgroup", { label: t("rb.section.other") }, others.map(opt)) : null);
  }

  function defaultOp(field) {
    const ops = fields[field].operators;
    if (CLOSED[field] || ids[field]) return ops.includes("in") ? "in" : ops.includes("contains_any") ? "contains_any" : ops[0];
    if (fields[field].type === "number") return ops.includes(">=") ? ">=" : ops[0];
    return ops.includes("=") ? "=" : ops[0];
  }

  function defaultValue(field, op) {
    if (NO_VALUE.has(op)) return undefined;
    const type = fields[field].type;
    if (type === "bool") return true;
    if (MULTI.has(op)) return [];
    if (op === "between") return [null, null];
    if (CLOSED[field]) return CLOSED[field][1][0];
    if (ids[field] && ids[field].length) return type === "number" ? Number(ids[field][0][0]) : ids[field][0][0];
    return type === "number" ? null : "";
  }

  function choicesOf(field) {
    if (CLOSED[field]) return CLOSED[field][1].map((v) => [v, labelOr(CLOSED[field][0], v)]);
    return ids[field] || null;
  }

  function numberInput(item, get, set) {
    const fen = isFen(item.field);
    const shown = get();
    const input = h("input", { type: "number", step: "any", class: "rb-number", value: shown === null || shown === undefined ? "" : fen ? shown / 100 : shown,
      "aria-label": t("rb.value") });
    input.addEventListener("input", () => {
      const v = input.value === "" ? null : Number(input.value);
      set(v === null ? null : fen ? Math.round(v * 100) : v);
      changed();
    });
    return fen ? h("span", { class: "rb-unit" }, input, h("span", { class: "muted" }, t("rb.yuan"))) : input;
  }

  function valueEditor(item) {
    const f = fields[item.field];
    if (NO_VALUE.has(item.op)) return null;
    const choices = choicesOf(item.field);
    const num = f.type === "number";
    const cast = (v) => (num ? Number(v) : v);
    if (f.type === "bool") {
      return h("select", { class: "rb-value", "aria-label": t("rb.value"), onchange: (ev) => { item.value = ev.target.value === "true"; changed(); } },
        h("option", { value: "true", selected: item.value === true }, t("ui.yes")), h("option", { value: "false", selected: item.value === false }, t("ui.no")));
    }
    if (choices && MULTI.has(item.op)) {
      const picked = new Set((Array.isArray(item.value) ? item.value : []).map(String));
      return h("span", { class: "rb-checks" }, choices.map(([v, l]) => h("label", { class: "check" },
        h("input", { type: "checkbox", value: v, checked: picked.has(String(v)), onchange: (ev) => {
          if (ev.target.checked) picked.add(String(v)); else picked.delete(String(v));
          item.value = choices.map(([x]) => String(x)).filter((x) => picked.has(x)).map(cast);
          changed();
        } }), " ", l)));
    }
    if (choices && (!num || ["=", "!="].includes(item.op))) {
      return h("select", { class: "rb-value", "aria-label": t("rb.value"), onchange: (ev) => { item.value = cast(ev.target.value); changed(); } },
        choices.map(([v, l]) => h("option", { value: v, selected: String(item.value) === String(v) }, l)));
    }
    if (num && item.op === "between") {
      const pair = Array.isArray(item.value) ? item.value : [null, null];
      item.value = pair;
      return h("span", { class: "rb-between" }, numberInput(item, () => pair[0], (v) => { pair[0] = v; }), t("rb.and"),
        numberInput(item, () => pair[1], (v) => { pair[1] = v; }));
    }
    if (MULTI.has(item.op)) {
      const input = h("input", { class: "rb-list", placeholder: t("rb.list_help"), "aria-label": t("rb.value"),
        value: (Array.isArray(item.value) ? item.value : []).map((v) => (num && isFen(item.field) ? v / 100 : v)).join(", ") });
      input.addEventListener("input", () => {
        const parts = input.value.split(/[,，、\s]+/).filter(Boolean);
        item.value = num ? parts.map((p) => (isFen(item.field) ? Math.round(Number(p) * 100) : Number(p))) : parts;
        changed();
      });
      return input;
    }
    if (num) return numberInput(item, () => item.value, (v) => { item.value = v; });
    const input = h("input", { class: "rb-text", value: item.value ?? "", "aria-label": t("rb.value") });
    input.addEventListener("input", () => { item.value = input.value; changed(); });
    return input;
  }

  function condRow(item, parent) {
    const f = fields[item.field];
    const ops = h("select", { class: "rb-op", "aria-label": t("rb.op"), onchange: (ev) => {
      const before = item.op;
      item.op = ev.target.value;
      if (NO_VALUE.has(item.op) || MULTI.has(item.op) !== MULTI.has(before) || (item.op === "between") !== (before === "between")) {
        item.value = defaultValue(item.field, item.op);
      }
      draw();
      changed();
    } }, f.operators.map((op) => h("option", { value: op, selected: op === item.op }, labelOr("op", op))));
    return h("div", { class: "rb-cond" }, fieldSelect(item), ops, valueEditor(item),
      h("button", { type: "button", class: "btn small ghost-dark rb-remove", "aria-label": t("ui.remove"), title: t("ui.remove"),
        onclick: () => { parent.items.splice(parent.items.indexOf(item), 1); draw(); changed(); } }, "×"));
  }

  function groupBox(group, parent) {
    const mode = h("select", { class: "rb-mode", "aria-label": t("rb.mode"), onchange: (ev) => { group.mode = ev.target.value; changed(); } },
      ["all", "any", "none"].map((m) => h("option", { value: m, selected: m === group.mode }, t(`rb.mode.${m}`))));
    const first = Object.keys(fields).includes("tier") ? "tier" : Object.keys(fields)[0];
    const addCond = h("button", { type: "button", class: "btn small rb-add-cond", onclick: () => {
      const op = defaultOp(first);
      group.items.push({ type: "cond", field: first, op, value: defaultValue(first, op) });
      draw();
      changed();
    } }, t("rb.add_condition"));
    const addGroup = h("button", { type: "button", class: "btn small rb-add-group", onclick: () => {
      group.items.push({ type: "group", mode: group.mode === "any" ? "all" : "any", items: [] });
      draw();
      changed();
    } }, t("rb.add_group"));
    const remove = parent ? h("button", { type: "button", class: "btn small danger", onclick: () => { parent.items.splice(parent.items.indexOf(group), 1); draw(); changed(); } }, t("rb.remove_group")) : null;
    return h("div", { class: `rb-group rb-${group.mode}` },
      h("div", { class: "rb-head" }, mode, h("span", { class: "muted" }, t("rb.of_these")), h("span", { class: "rb-actions" }, addCond, addGroup, remove)),
      group.items.length
        ? h("div", { class: "rb-items" }, group.items.map((i) => (i.type === "group" ? groupBox(i, group) : condRow(i, group))))
        : h("p", { class: "muted rb-empty" }, t("rb.no_conditions")));
  }

  function draw() {
    clear(canvas, groupBox(tree, null));
    canvas.classList.toggle("rb-disabled", raw !== null);
  }

  draw();
  if (raw !== null) {
    json.value = JSON.stringify(raw, null, 2);
    clear(status, notice("info", t("rb.unshowable")));
    advanced.open = true;
    recount();
  } else {
    changed();
  }
  return {
    el,
    value: current,
    set: (r) => {
      try { tree = fromRule(r, fields); raw = null; } catch (e) { tree = fromRule(null, fields); raw = r; }
      draw();
      changed();
    },
  };
}
