// Strategies: which offer, through which channel, with which script, for which customers.
// API: GET /v1/strategies, POST /v1/strategies, PATCH /v1/strategies/{id},
// POST /v1/strategies/preview (body: the condition).

import { ApiError, get, listOf, patch, post } from "../api.js";
import { card, clear, errorBox, fmt, form, h, loading, notice, page, pagedTable, statusBadge } from "../ui.js";

const BASE = "/v1/strategies";
const CHANNELS = [["app_push", "App push"], ["app", "In-app"], ["sms", "SMS"], ["outbound_call", "Outbound call"], ["manager_call", "Manager call"],
  ["manager_visit", "Manager visit"], ["hall", "Business hall"], ["hotline", "Hotline"], ["partner_app", "Partner app"]];
const EXAMPLE = { segment: ["potential_loss"], sub_segment: ["tariff"], tier: ["star4", "star5", "gold", "diamond"] };

export async function render(el, { ctx }) {
  const editor = h("div", { id: "strategy-editor" });
  let products = [];
  const list = pagedTable([
    { key: "priority", label: "Priority", class: "num" },
    { key: "name", label: "Name" },
    { key: "condition", label: "For whom", class: "wrap", render: (r) => h("code", {}, JSON.stringify(r.condition ?? {})) },
    { key: "product", label: "Offer", render: (r) => fmt.text(products.find((p) => p.id === r.product_id)?.name ?? (r.product_id ? `product #${r.product_id}` : null)) },
    { key: "channel", label: "Channel" },
    { key: "script", label: "Script", class: "wrap", render: (r) => (r.script && r.script.length > 90 ? `${r.script.slice(0, 90)}…` : fmt.text(r.script)) },
    { key: "open_recommendations", label: "Open offers", class: "num", render: (r) => fmt.int(r.open_recommendations) },
    { key: "active", label: "Active", render: (r) => statusBadge(Boolean(r.active)) },
    { key: "edit", label: "", render: (r) => (ctx.can("editStrategy") ? h("button", { class: "btn small", onclick: () => openEditor(editor, r, list, products) }, "Edit") : "") },
  ], (paging) => get(BASE, { ...paging }), { what: "Strategy list", empty: "No strategies yet.", pageSize: 50 });
  const actions = ctx.can("editStrategy") ? [h("button", { class: "btn primary", id: "new-strategy", onclick: () => openEditor(editor, null, list, products) }, "New strategy")] : [];
  clear(el, page("Strategies", { subtitle: "Customer group → offer, channel and script. Each customer gets the first matching active strategy by priority.", actions }, editor, list));
  try { products = listOf(await get("/v1/products", { limit: 100 })); } catch (e) { if (!(e instanceof ApiError)) throw e; }
}

function openEditor(editor, row, list, products) {
  const productField = products.length
    ? { name: "product_id", label: "Offer (product)", type: "select", value: row?.product_id ?? "", options: [["", "— none —"], ...products.map((p) => [p.id, `${p.name} (${p.kind})`])] }
    : { name: "product_id", label: "Offer (product id)", type: "number", min: 1, value: row?.product_id };
  const preview = h("div", { id: "strategy-preview" });
  const frm = form([
    { name: "name", label: "Name", required: true, value: row?.name },
    productField,
    { name: "channel", label: "Channel", type: "select", options: CHANNELS, value: row?.channel || "app_push" },
    { name: "priority", label: "Priority (lower wins)", type: "number", min: 0, max: 10000, value: row?.priority ?? 100 },
    { name: "active", label: "Active", type: "checkbox", value: row ? row.active : true },
    { name: "condition", label: "Condition (JSON)", type: "json", wide: true, value: row?.condition ?? EXAMPLE, required: true,
      help: "Keys: segment, sub_segment, stage, tier, risk, four_high, cluster (lists), tags_all / tags_any (tag codes), rule (a tag rule tree)." },
    { name: "script", label: "Script for the person making the contact", type: "textarea", wide: true, value: row?.script, required: true },
  ], {
    submit: row ? "Save strategy" : "Create strategy",
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      const body = { ...vals, product_id: vals.product_id ? Number(vals.product_id) : null };
      if (row) await patch(`${BASE}/${row.id}`, body);
      else await post(BASE, body);
      clear(editor, notice("ok", `Strategy “${vals.name}” saved.`));
      list.reload();
    },
  });
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-strategy", onclick: async () => {
    let cond;
    try { cond = JSON.parse(frm.controls.condition.input.value); } catch (e) { clear(preview, notice("error", "The condition is not valid JSON.")); return; }
    clear(preview, loading("Counting…"));
    try {
      const r = await post(`${BASE}/preview`, cond);
      clear(preview, notice("info", `${fmt.int(r.customers)} customers match this condition now (before priorities and contact-pressure rules).`));
    } catch (err) {
      clear(preview, errorBox(err, "Condition preview"));
    }
  } }, "Preview count");
  clear(editor, card(row ? `Edit strategy #${row.id}` : "New strategy", frm, h("div", { class: "actions" }, previewBtn), preview));
  editor.scrollIntoView({ block: "start" });
}
