// Tier rules: a customer gets the highest tier whose thresholds (tenure, 6-month average bill)
// they meet. API: GET /v1/tiers/rules, PUT /v1/tiers/rules/{tier}, GET /v1/tiers/distribution.

import { get, listOf, put } from "../api.js";
import { bars } from "../charts.js";
import { attempt, card, clear, fmt, form, h, label, loading, notice, page, t, table } from "../ui.js";

export async function render(el, { ctx }) {
  clear(el, loading());
  const data = await attempt(el, t("tier.rules"), () => get("/v1/tiers/rules"));
  if (!data) return;
  const rules = listOf(data).sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0));
  let dist = [];
  try { dist = listOf(await get("/v1/tiers/distribution")); } catch (e) { dist = []; }
  const count = Object.fromEntries(dist.map((d) => [d.tier, d.customers]));
  const editor = h("div", { id: "tier-editor" });
  const columns = [
    { key: "rank", label: t("tier.rank"), class: "num" },
    { key: "tier", label: t("tier.tier"), render: (r) => label("tier", r.tier) },
    { key: "min_tenure_months", label: t("tier.min_tenure"), class: "num", render: (r) => fmt.int(r.min_tenure_months) },
    { key: "min_avg_bill_fen", label: t("tier.min_bill"), class: "num", render: (r) => fmt.fen(r.min_avg_bill_fen) },
    { key: "benefits", label: t("tier.benefits"), class: "wrap", render: (r) => fmt.allOf(r.benefits || []) },
    { key: "customers", label: t("tier.customers"), class: "num", render: (r) => fmt.int(count[r.tier] ?? 0) },
    { key: "edit", label: "", render: (r) => (ctx.can("editTier") ? h("button", { class: "btn small", dataset: { tier: r.tier }, onclick: () => edit(editor, r, el, ctx) }, t("ui.edit")) : "") },
  ];
  const order = rules.map((r) => r.tier);
  const chartData = [...new Set([...order, ...dist.map((d) => d.tier)])].map((tier) => ({ label: label("tier", tier), value: count[tier] ?? 0 }));
  clear(el, page(t("nav.tiers"), { subtitle: t("tier.subtitle") },
    editor,
    card(t("tier.rules"), table(columns, rules, { empty: t("tier.none") })),
    card(t("tier.per_tier"), bars({ title: null, data: chartData }))));
}

function edit(editor, rule, el, ctx) {
  const frm = form([
    { name: "rank", label: t("tier.rank_help"), type: "number", min: 1, max: 100, value: rule.rank, required: true },
    { name: "min_tenure_months", label: t("tier.min_tenure_long"), type: "number", min: 0, max: 1200, value: rule.min_tenure_months, required: true },
    { name: "min_avg_bill_yuan", label: t("tier.min_bill_long"), type: "number", min: 0, max: 1000000, step: "0.01", value: (rule.min_avg_bill_fen ?? 0) / 100, required: true },
    { name: "benefits", label: t("tier.benefits_long"), type: "textarea", wide: true, value: (rule.benefits || []).join("\n") },
  ], {
    submit: t("tier.save"),
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      await put(`/v1/tiers/rules/${encodeURIComponent(rule.tier)}`, {
        rank: vals.rank,
        min_tenure_months: vals.min_tenure_months,
        min_avg_bill_fen: Math.round(vals.min_avg_bill_yuan * 100),
        benefits: String(vals.benefits || "").split("\n").map((b) => b.trim()).filter(Boolean),
      });
      await render(el, { ctx });
      el.prepend(notice("ok", t("tier.saved", { tier: label("tier", rule.tier) })));
    },
  });
  clear(editor, card(t("tier.edit_title", { tier: label("tier", rule.tier) }), frm));
}
