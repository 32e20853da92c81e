// Strategies: which offer, through which channel, with which script, for which customers.
// API: GET /v1/strategies, POST /v1/strategies, PATCH /v1/strategies/{id},
// POST /v1/strategies/preview (body: the condition).

import { ApiError, get, listOf, patch, post } from "../api.js";
import { loadFields, ruleBuilder, ruleText } from "../rulebuilder.js";
import {
  FOUR_HIGH_CODES, RISK_CODES, SEGMENT_CODES, STAGE_CODES, SUB_SEGMENT_CODES, TIER_CODES, card, checkGroup, chipPicker, clear,
  errorBox, fmt, form, h, label, loading, notice, options, page, pagedTable, statusBadge, t,
} from "../ui.js";

const BASE = "/v1/strategies";
const CHANNELS = ["app_push", "app", "sms", "outbound_call", "manager_call", "manager_visit", "hall", "hotline", "partner_app"];
const EXAMPLE = { segment: ["potential_loss"], sub_segment: ["tariff"], tier: ["star4", "star5", "gold", "diamond"] };
const LIST_KIND = { segment: "segment", sub_segment: "sub_segment", stage: "stage", tier: "tier", risk: "risk", four_high: "four_high" };

// {"segment": ["potential_loss"], "tier": [...]} in words; unknown keys as they are.
function conditionText(cond) {
  const parts = Object.entries(cond || {}).map(([k, v]) => {
    const values = Array.isArray(v) ? v : [v];
    if (LIST_KIND[k]) return t("ui.label_colon", { label: t(`strat.key.${k}`) }) + fmt.anyOf(values.map((x) => label(LIST_KIND[k], x)));
    if (k === "tags_any" || k === "cluster") return t("ui.label_colon", { label: t(`strat.key.${k}`) }) + fmt.anyOf(values);
    if (k === "tags_all") return t("ui.label_colon", { label: t(`strat.key.${k}`) }) + fmt.allOf(values);
    if (k === "rule") return t("ui.label_colon", { label: t("strat.key.rule") }) + ruleText(v);
    return `${k}: ${JSON.stringify(v)}`;
  });
  return parts.length ? parts.join(t("ui.part_sep")) : t("strat.everyone");
}

export async function render(el, { ctx }) {
  const editor = h("div", { id: "strategy-editor" });
  let products = [];
  try { products = listOf(await get("/v1/products", { limit: 100 })); } catch (e) { if (!(e instanceof ApiError)) throw e; }
  const list = pagedTable([
    { key: "priority", label: t("strat.priority"), class: "num" },
    { key: "name", label: t("strat.name") },
    { key: "condition", label: t("strat.for_whom"), class: "wrap", render: (r) => h("span", { title: JSON.stringify(r.condition ?? {}) }, conditionText(r.condition)) },
    { key: "product", label: t("strat.offer"), render: (r) => fmt.text(products.find((p) => p.id === r.product_id)?.name ?? (r.product_id ? t("strat.product_n", { id: r.product_id }) : null)) },
    { key: "channel", label: t("strat.channel"), render: (r) => label("channel", r.channel) },
    { key: "script", label: t("strat.script"), class: "wrap", render: (r) => (r.script && r.script.length > 90 ? `${r.script.slice(0, 90)}…` : fmt.text(r.script)) },
    { key: "open_recommendations", label: t("strat.open_offers"), class: "num", render: (r) => fmt.int(r.open_recommendations) },
    { key: "active", label: t("strat.active"), render: (r) => statusBadge(Boolean(r.active)) },
    { key: "edit", label: "", render: (r) => (ctx.can("editStrategy") ? h("button", { class: "btn small", dataset: { strategy: r.id }, onclick: () => openEditor(editor, r, list, products) }, t("ui.edit")) : "") },
  ], (paging) => get(BASE, { ...paging }), { what: t("strat.list"), empty: t("strat.none"), pageSize: 50 });
  const actions = ctx.can("editStrategy") ? [h("button", { class: "btn primary", id: "new-strategy", onclick: () => openEditor(editor, null, list, products) }, t("strat.new"))] : [];
  clear(el, page(t("nav.strategies"), { subtitle: t("strat.subtitle"), actions }, editor, list));
}

// The condition (shared/engine/strategies.py) as pickers: ticks per value set, tag pickers and
// custom conditions in the rule builder; the whole condition stays editable as JSON.
const CHECK_KEYS = [["segment", "segment", SEGMENT_CODES], ["sub_segment", "sub_segment", SUB_SEGMENT_CODES], ["stage", "stage", STAGE_CODES],
  ["tier", "tier", TIER_CODES], ["risk", "risk", RISK_CODES], ["four_high", "four_high", FOUR_HIGH_CODES]];
const KNOWN = new Set([...CHECK_KEYS.map(([k]) => k), "cluster", "tags_any", "tags_all", "rule"]);

async function conditionEditor(initial) {
  const [meta, tags] = await Promise.all([loadFields(), get("/v1/tags", { limit: 1000, active: true }).then(listOf).catch(() => [])]);
  const tagChoices = tags.map((tg) => [tg.code, tg.name]);
  const clusters = meta.ids.cluster_id || [];
  const box = h("div", { class: "cond-pickers" });
  const json = h("textarea", { class: "mono", id: "f-condition", rows: 6, spellcheck: "false" });
  const status = h("div");
  const el = h("div", { class: "condition-editor" }, box, status,
    h("details", { class: "advanced" }, h("summary", { id: "condition-json-toggle" }, t("rb.json")), h("p", { class: "help" }, t("strat.condition_help")), json));
  let controls = null;
  let raw = null;
  const read = () => {
    if (raw !== null) return raw;
    const c = {};
    for (const [k] of CHECK_KEYS) { const v = controls[k].value(); if (v.length) c[k] = v; }
    const cl = controls.cluster.value().map(Number);
    if (cl.length) c.cluster = cl;
    for (const k of ["tags_any", "tags_all"]) { const v = controls[k].value(); if (v.length) c[k] = v; }
    const rule = controls.rule.value();
    if (rule) c.rule = rule;
    return c;
  };
  const showJson = () => { try { json.value = JSON.stringify(read(), null, 2); clear(status); } catch (e) { clear(status, h("p", { class: "help" }, e.message)); } };
  const build = (c) => {
    controls = {
      ...Object.fromEntries(CHECK_KEYS.map(([k, kind, codes]) => [k, checkGroup(`cond-${k}`, options(kind, codes), (c[k] || []).map(String))])),
      cluster: checkGroup("cond-cluster", clusters, (c.cluster || []).map(String)),
      tags_any: chipPicker(tagChoices, c.tags_any || [], { id: "cond-tags_any" }),
      tags_all: chipPicker(tagChoices, c.tags_all || [], { id: "cond-tags_all" }),
      rule: ruleBuilder({ rule: c.rule ?? null, meta, id: "cond-rule", allowEmpty: true, jsonLabel: t("aud.rule_json") }),
    };
    const group = (key, ...body) => h("div", { class: "aud-group" }, h("h3", {}, t(`strat.key.${key}`)), ...body);
    clear(box,
      h("div", { class: "aud-grid" },
        ...CHECK_KEYS.map(([k]) => group(k, controls[k])),
        clusters.length ? group("cluster", controls.cluster) : null,
        h("div", { class: "aud-group" },
          h("label", { class: "mini" }, t("strat.key.tags_any"), controls.tags_any),
          h("label", { class: "mini" }, t("strat.key.tags_all"), controls.tags_all))),
      h("h3", {}, t("strat.key.rule")), controls.rule.el);
  };
  // a single value where the grammar wants a list is read as a list of one
  const lists = (c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, k === "rule" || Array.isArray(v) ? v : [v]]));
  const fits = (c) => c && typeof c === "object" && !Array.isArray(c) && Object.keys(c).every((k) => KNOWN.has(k))
    && Object.entries(c).every(([k, v]) => k === "rule" || Array.isArray(v) || ["string", "number"].includes(typeof v));
  if (fits(initial)) build(lists(initial)); else { build({}); raw = initial; box.classList.add("rb-disabled"); }
  box.addEventListener("change", () => { if (raw === null) showJson(); });
  box.addEventListener("input", () => { if (raw === null) showJson(); });
  json.addEventListener("input", () => {
    let parsed;
    try { parsed = json.value.trim() ? JSON.parse(json.value) : {}; } catch (e) { clear(status, notice("error", t("rb.bad_json"))); return; }
    if (fits(parsed)) { raw = null; build(lists(parsed)); box.classList.remove("rb-disabled"); clear(status); } else { raw = parsed; box.classList.add("rb-disabled"); clear(status, notice("info", t("rb.unshowable"))); }
  });
  showJson();
  if (raw !== null) json.value = JSON.stringify(raw, null, 2);
  return { el, read };
}

async function openEditor(editor, row, list, products) {
  clear(editor, loading());
  const cond = await conditionEditor(row?.condition ?? EXAMPLE);
  const productField = products.length
    ? { name: "product_id", label: t("strat.offer_product"), type: "select", value: row?.product_id ?? "", options: [["", t("ui.none")], ...products.map((p) => [p.id, `${p.name} (${label("product_kind", p.kind)})`])] }
    : { name: "product_id", label: t("strat.offer_product_id"), type: "number", min: 1, value: row?.product_id };
  const preview = h("div", { id: "strategy-preview" });
  const frm = form([
    { name: "name", label: t("strat.name"), required: true, value: row?.name },
    productField,
    { name: "channel", label: t("strat.channel"), type: "select", options: options("channel", CHANNELS), value: row?.channel || "app_push" },
    { name: "priority", label: t("strat.priority_help"), type: "number", min: 0, max: 10000, value: row?.priority ?? 100 },
    { name: "active", label: t("strat.active"), type: "checkbox", value: row ? row.active : true },
    { name: "condition", label: t("strat.condition"), type: "custom", element: cond.el, read: cond.read, wide: true },
    { name: "script", label: t("strat.script_long"), type: "textarea", wide: true, value: row?.script, required: true },
  ], {
    submit: row ? t("strat.save") : t("strat.create"),
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      const body = { ...vals, product_id: vals.product_id ? Number(vals.product_id) : null };
      if (row) await patch(`${BASE}/${row.id}`, body);
      else await post(BASE, body);
      clear(editor, notice("ok", t("strat.saved", { name: vals.name })));
      list.reload();
    },
  });
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-strategy", onclick: async () => {
    let condition;
    try { condition = cond.read(); } catch (e) { clear(preview, notice("error", e.message)); return; }
    clear(preview, loading(t("ui.counting")));
    try {
      const r = await post(`${BASE}/preview`, condition);
      clear(preview, notice("info", t("strat.matches", { count: r.customers })));
    } catch (err) {
      clear(preview, errorBox(err, t("strat.preview_what")));
    }
  } }, t("tag.preview"));
  clear(editor, card(row ? t("strat.edit_title", { id: row.id }) : t("strat.new"), frm, h("div", { class: "actions" }, previewBtn), preview));
  editor.scrollIntoView({ block: "start" });
}
