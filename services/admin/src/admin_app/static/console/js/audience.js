// The campaign audience (the API's AudienceQuery) as pickers: ticks for tiers, risk, stages,
// four-high kinds and segments, pickers for branches and tags, custom conditions in the rule
// builder (query.rule), a live count, and the JSON kept as an "advanced" view. Within one group
// the values are alternatives (OR); groups must all hold (AND), exactly as
// shared/campaigns/query.py compiles them.

import { get, listOf } from "./api.js";
import { loadFields, ruleBuilder, ruleText } from "./rulebuilder.js";
import {
  FOUR_HIGH_CODES, RISK_CODES, SEGMENT_CODES, STAGE_CODES, SUB_SEGMENT_CODES, TIER_CODES, checkGroup, chipPicker, clear,
  errorBox, fmt, h, label, loading, notice, options, t,
} from "./ui.js";

const LIST_KEYS = ["tiers", "risk_levels", "lifecycle_stages", "four_high", "segments", "sub_segments"];
const KIND = { tiers: "tier", risk_levels: "risk", lifecycle_stages: "stage", four_high: "four_high", segments: "segment", sub_segments: "sub_segment" };
const CODES = { tiers: TIER_CODES, risk_levels: RISK_CODES, lifecycle_stages: STAGE_CODES, four_high: FOUR_HIGH_CODES, segments: SEGMENT_CODES, sub_segments: SUB_SEGMENT_CODES };

async function tagChoices() {
  try {
    return listOf(await get("/v1/tags", { limit: 1000, active: true })).map((tg) => [tg.code, tg.name]);
  } catch (err) {
    return [];
  }
}

async function branchChoices() {
  try {
    return listOf(await get("/v1/org-units", { kind: "branch" })).map((u) => [String(u.id), u.name]);
  } catch (err) {
    return [];
  }
}

// Returns {el, value(), onCount(fn)}; fn() resolves to the text of the live count.
export async function audienceBuilder(initial = {}) {
  const [tags, branches, meta] = await Promise.all([tagChoices(), branchChoices(), loadFields().catch(() => null)]);
  const rules = meta ? ruleBuilder({ rule: initial.rule ?? null, meta, id: "aud-rule", allowEmpty: true, jsonLabel: t("aud.rule_json") }) : null;
  const groups = Object.fromEntries(LIST_KEYS.map((k) => [k, checkGroup(k, options(KIND[k], CODES[k]), initial[k] || [])]));
  const tagsAny = chipPicker(tags, initial.tags || [], { id: "q-tags" });
  const tagsAll = chipPicker(tags, initial.tags_all || [], { id: "q-tags_all" });
  const branchPick = chipPicker(branches, (initial.branch_ids || []).map(String), { id: "q-branch_ids" });
  const minScore = h("input", { id: "q-min_churn_score", type: "number", min: 0, max: 1, step: "0.05", value: initial.min_churn_score ?? "" });
  const dnd = h("input", { id: "q-exclude_dnd", type: "checkbox", checked: initial.exclude_do_not_disturb ?? true });
  const json = h("pre", { class: "query-json" });
  const live = h("div", { class: "live-count", id: "audience-live", "aria-live": "polite" });
  let counter = null;
  let timer = null;
  let seq = 0;

  const value = () => {
    const q = {};
    for (const k of LIST_KEYS) {
      const vals = groups[k].value();
      if (vals.length) q[k] = vals;
    }
    if (tagsAny.value().length) q.tags = tagsAny.value();
    if (tagsAll.value().length) q.tags_all = tagsAll.value();
    if (branchPick.value().length) q.branch_ids = branchPick.value().map(Number);
    if (minScore.value !== "") q.min_churn_score = Number(minScore.value);
    if (dnd.checked) q.exclude_do_not_disturb = true;
    if (rules) {
      const rule = rules.value(); // throws with the reason while a condition is incomplete
      if (rule) q.rule = rule;
    }
    return q;
  };
  const section = (titleKey, ...body) => h("div", { class: "aud-group" }, h("h3", {}, t(titleKey)), ...body);
  const el = h("div", { class: "audience" },
    h("p", { class: "help" }, t("aud.help")),
    h("div", { class: "aud-grid" },
      section("aud.tiers", groups.tiers),
      section("aud.risk", groups.risk_levels, h("h3", {}, t("aud.stage")), groups.lifecycle_stages),
      section("aud.four_high", groups.four_high),
      section("aud.segments", groups.segments, h("h3", {}, t("aud.sub_segments")), groups.sub_segments),
      section("aud.tags_and_more",
        h("label", { class: "mini" }, t("aud.tags_any"), tagsAny),
        h("label", { class: "mini" }, t("aud.tags_all"), tagsAll),
        branches.length > 1 ? h("label", { class: "mini" }, t("aud.branches"), branchPick) : null,
        h("label", { class: "mini" }, t("aud.min_score"), minScore),
        h("label", { class: "check" }, dnd, " ", t("aud.exclude_dnd")))),
    rules ? h("div", { class: "aud-rule" }, h("h3", {}, t("aud.rule")), h("p", { class: "help" }, t("aud.rule_help")), rules.el) : null,
    live,
    h("details", { class: "advanced" }, h("summary", {}, t("aud.json")), json));
  const recount = () => {
    if (!counter) return;
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const mine = ++seq;
      clear(live, loading(t("ui.counting")));
      try {
        const text = await counter();
        if (mine === seq) clear(live, notice("info", text));
      } catch (err) {
        if (mine === seq) clear(live, errorBox(err, t("camp.preview_what")));
      }
    }, 400);
  };
  const sync = () => {
    try {
      json.textContent = JSON.stringify(value(), null, 2);
    } catch (e) {
      return; // an incomplete custom condition: the builder says what is missing
    }
    recount();
  };
  el.addEventListener("input", sync);
  el.addEventListener("change", sync);
  try { json.textContent = JSON.stringify(value(), null, 2); } catch (e) { json.textContent = ""; }
  return { el, value, onCount: (fn) => { counter = fn; recount(); } };
}

// A stored query in words: "Tier: Gold, Diamond · Churn risk: High".
export function audienceSummary(query) {
  const parts = [];
  for (const k of LIST_KEYS) {
    if ((query[k] || []).length) parts.push([t(`aud.key.${k}`), fmt.anyOf(query[k].map((v) => label(KIND[k], v)))]);
  }
  if ((query.tags || []).length) parts.push([t("aud.tags_any"), fmt.anyOf(query.tags)]);
  if ((query.tags_all || []).length) parts.push([t("aud.tags_all"), fmt.allOf(query.tags_all)]);
  if ((query.branch_ids || []).length) parts.push([t("aud.branches"), fmt.anyOf(query.branch_ids.map((b) => `#${b}`))]);
  if (query.min_churn_score !== undefined && query.min_churn_score !== null) parts.push([t("aud.min_score"), fmt.num(query.min_churn_score, 2)]);
  if (query.exclude_do_not_disturb) parts.push([t("aud.exclude_dnd"), t("ui.yes")]);
  if (query.rule) parts.push([t("aud.rule"), ruleText(query.rule)]);
  const known = new Set([...LIST_KEYS, "tags", "tags_all", "branch_ids", "min_churn_score", "exclude_do_not_disturb", "rule"]);
  for (const [k, v] of Object.entries(query)) if (!known.has(k)) parts.push([k, JSON.stringify(v)]);
  if (!parts.length) return h("p", { class: "muted", id: "audience-summary" }, t("aud.everyone"));
  return h("ul", { class: "aud-summary", id: "audience-summary" }, parts.map(([k, v]) => h("li", {}, h("strong", {}, t("ui.label_colon", { label: k })), v)));
}
