// Strategies: which offer, through which channel, with which script, for which customers.
// API: GET /v1/strategies, POST /v1/strategies, PATCH /v1/strategies/{id},
// POST /v1/strategies/preview (body: the condition).

import { ApiError, get, listOf, patch, post } from "../api.js";
import { card, clear, errorBox, fmt, form, h, label, loading, notice, options, page, pagedTable, statusBadge, t } from "../ui.js";

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
    if (k === "rule") return t("strat.key.rule");
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
    { key: "edit", label: "", render: (r) => (ctx.can("editStrategy") ? h("button", { class: "btn small", onclick: () => openEditor(editor, r, list, products) }, t("ui.edit")) : "") },
  ], (paging) => get(BASE, { ...paging }), { what: t("strat.list"), empty: t("strat.none"), pageSize: 50 });
  const actions = ctx.can("editStrategy") ? [h("button", { class: "btn primary", id: "new-strategy", onclick: () => openEditor(editor, null, list, products) }, t("strat.new"))] : [];
  clear(el, page(t("nav.strategies"), { subtitle: t("strat.subtitle"), actions }, editor, list));
}

function openEditor(editor, row, list, products) {
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
    { name: "condition", label: t("strat.condition"), type: "json", wide: true, value: row?.condition ?? EXAMPLE, required: true, help: t("strat.condition_help") },
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
    let cond;
    try { cond = JSON.parse(frm.controls.condition.input.value); } catch (e) { clear(preview, notice("error", t("strat.bad_json"))); return; }
    clear(preview, loading(t("ui.counting")));
    try {
      const r = await post(`${BASE}/preview`, cond);
      clear(preview, notice("info", t("strat.matches", { count: r.customers })));
    } catch (err) {
      clear(preview, errorBox(err, t("strat.preview_what")));
    }
  } }, t("tag.preview"));
  clear(editor, card(row ? t("strat.edit_title", { id: row.id }) : t("strat.new"), frm, h("div", { class: "actions" }, previewBtn), preview));
  editor.scrollIntoView({ block: "start" });
}
