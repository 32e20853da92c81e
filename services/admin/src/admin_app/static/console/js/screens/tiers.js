// Tier rules: a customer gets the highest tier whose thresholds (tenure, 6-month average bill)
// they meet. API: GET /v1/tiers/rules, PUT /v1/tiers/rules/{tier}, GET /v1/tiers/distribution.

import { get, listOf, put } from "../api.js";
import { bars } from "../charts.js";
import { TIER_LABEL, attempt, card, clear, fmt, form, h, loading, notice, page, table } from "../ui.js";

export async function render(el, { ctx }) {
  clear(el, loading());
  const data = await attempt(el, "Tier rules", () => get("/v1/tiers/rules"));
  if (!data) return;
  const rules = listOf(data).sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
  let dist = [];
  try { dist = listOf(await get("/v1/tiers/distribution")); } catch (e) { dist = []; }
  const count = Object.fromEntries(dist.map((d) => [d.tier, d.customers]));
  const editor = h("div", { id: "tier-editor" });
  const columns = [
    { key: "rank", label: "Rank", class: "num" },
    { key: "tier", label: "Tier", render: (r) => TIER_LABEL[r.tier] || r.tier },
    { key: "min_tenure_months", label: "Min tenure (months)", class: "num", render: (r) => fmt.int(r.min_tenure_months) },
    { key: "min_avg_bill_fen", label: "Min average bill / month", class: "num", render: (r) => fmt.fen(r.min_avg_bill_fen) },
    { key: "benefits", label: "Benefits", class: "wrap", render: (r) => (r.benefits || []).join(", ") || "—" },
    { key: "customers", label: "Customers now", class: "num", render: (r) => fmt.int(count[r.tier] ?? 0) },
    { key: "edit", label: "", render: (r) => (ctx.can("editTier") ? h("button", { class: "btn small", dataset: { tier: r.tier }, onclick: () => edit(editor, r, el, ctx) }, "Edit") : "") },
  ];
  const order = rules.map((r) => r.tier);
  const chartData = [...new Set([...order, ...dist.map((d) => d.tier)])].map((t) => ({ label: TIER_LABEL[t] || t, value: count[t] ?? 0 }));
  clear(el, page("Tiers", { subtitle: "Ordinary 1–4 stars; VIP five-star, gold and diamond. Recomputed by the nightly engine from these rules." },
    editor,
    card("Rules", table(columns, rules, { empty: "No tier rules defined." })),
    card("Customers per tier", bars({ title: null, data: chartData }))));
}

function edit(editor, rule, el, ctx) {
  const frm = form([
    { name: "rank", label: "Rank (higher is better)", type: "number", min: 1, max: 100, value: rule.rank, required: true },
    { name: "min_tenure_months", label: "Minimum tenure (months)", type: "number", min: 0, max: 1200, value: rule.min_tenure_months, required: true },
    { name: "min_avg_bill_yuan", label: "Minimum average monthly bill (¥)", type: "number", min: 0, max: 1000000, step: "0.01", value: (rule.min_avg_bill_fen ?? 0) / 100, required: true },
    { name: "benefits", label: "Benefits (one per line)", type: "textarea", wide: true, value: (rule.benefits || []).join("\n") },
  ], {
    submit: "Save rule",
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      await put(`/v1/tiers/rules/${encodeURIComponent(rule.tier)}`, {
        rank: vals.rank,
        min_tenure_months: vals.min_tenure_months,
        min_avg_bill_fen: Math.round(vals.min_avg_bill_yuan * 100),
        benefits: String(vals.benefits || "").split("\n").map((b) => b.trim()).filter(Boolean),
      });
      await render(el, { ctx });
      el.prepend(notice("ok", `Rule for ${TIER_LABEL[rule.tier] || rule.tier} saved; the next engine run applies it.`));
    },
  });
  clear(editor, card(`Edit rule: ${TIER_LABEL[rule.tier] || rule.tier}`, frm));
}
