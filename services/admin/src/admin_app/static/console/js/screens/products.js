// The product library (seed 001: a product library for the managers' offers): plans, packs,
// contracts, bonuses, broadband, family pay and memberships, with who may order each. Strategists
// add and edit products; withdrawing one (inactive) takes it off sale, nothing is deleted.
// API: GET/POST /v1/products, GET/PATCH /v1/products/{id}.

import { get, listOf, patch, post } from "../api.js";
import {
  TIER_CODES, attempt, card, clear, filters, fmt, form, h, kv, label, labelOr, loading, notice, options, page, pagedTable, statusBadge, t,
} from "../ui.js";

const KINDS = ["plan", "data_pack", "voice_pack", "contract", "recharge_bonus", "broadband", "family", "membership"];
const ELIGIBILITY_KEYS = ["min_tier", "tiers", "plan_ids", "min_tenure_months", "max_per_customer"];

export async function render(el, { args, query, ctx }) {
  if (args[0] === "new") return renderEdit(el, null, ctx);
  if (args[0]) return renderOne(el, args[0], ctx);
  const list = pagedTable([
    { key: "code", label: t("prod.code"), render: (r) => h("code", {}, r.code) },
    { key: "name", label: t("prod.name"), render: (r) => h("a", { href: `#/products/${r.id}` }, r.name) },
    { key: "kind", label: t("prod.kind"), render: (r) => label("product_kind", r.kind) },
    { key: "monthly_fee_fen", label: t("prod.monthly_fee"), class: "num", render: (r) => fmt.fen(r.monthly_fee_fen) },
    { key: "allowance", label: t("prod.allowance"), render: (r) => allowance(r) },
    { key: "eligibility", label: t("prod.eligibility"), class: "wrap", render: (r) => eligibilityText(r.eligibility) },
    { key: "active", label: t("prod.on_sale"), render: (r) => statusBadge(Boolean(r.active)) },
  ], (paging) => get("/v1/products", { kind: query.kind, q: query.q, active: query.active, ...paging }),
  { what: t("nav.products"), empty: t("prod.none"), onRow: (r) => ctx.go("products", [r.id]) });
  const bar = filters([
    { name: "q", label: t("prod.search"), placeholder: t("prod.search_eg") },
    { name: "kind", label: t("prod.kind"), type: "select", options: options("product_kind", KINDS) },
    { name: "active", label: t("prod.on_sale"), type: "select", options: [["true", t("prod.on_sale_only")], ["false", t("prod.withdrawn_only")]] },
  ], query, (vals) => ctx.go("products", [], vals));
  const actions = ctx.can("editProduct") ? [h("a", { class: "btn primary", href: "#/products/new", id: "new-product" }, t("prod.new"))] : [];
  clear(el, page(t("nav.products"), { subtitle: t("prod.subtitle"), actions }, bar, list));
}

function allowance(p) {
  const parts = [];
  if (p.data_mb) parts.push(p.data_mb >= 1024 ? `${fmt.num(p.data_mb / 1024, p.data_mb % 1024 ? 1 : 0)} GB` : `${fmt.int(p.data_mb)} MB`);
  if (p.voice_min) parts.push(t("prod.minutes", { n: fmt.int(p.voice_min) }));
  if (p.sms) parts.push(t("prod.sms_n", { n: fmt.int(p.sms) }));
  return parts.length ? parts.join(" · ") : "—";
}

function eligibilityText(e) {
  const parts = [];
  if (!e) return t("prod.everyone");
  if (e.min_tier) parts.push(t("prod.el.min_tier", { tier: label("tier", e.min_tier) }));
  if ((e.tiers || []).length) parts.push(t("prod.el.tiers", { tiers: fmt.anyOf(e.tiers.map((x) => label("tier", x))) }));
  if ((e.plan_ids || []).length) parts.push(t("prod.el.plans", { plans: fmt.anyOf(e.plan_ids.map((x) => `#${x}`)) }));
  if (e.min_tenure_months) parts.push(t("prod.el.tenure", { months: e.min_tenure_months }));
  if (e.max_per_customer) parts.push(t("prod.el.max", { n: e.max_per_customer }));
  const extra = Object.keys(e).filter((k) => !ELIGIBILITY_KEYS.includes(k));
  if (extra.length) parts.push(t("prod.el.extra", { keys: fmt.allOf(extra.map((k) => labelOr("eligibility", k))) }));
  return parts.length ? parts.join(t("ui.part_sep")) : t("prod.everyone");
}

async function renderOne(el, id, ctx) {
  clear(el, loading());
  const p = await attempt(el, t("prod.one"), () => get(`/v1/products/${encodeURIComponent(id)}`));
  if (!p) return;
  const actions = [h("a", { class: "btn", href: "#/products" }, t("prod.all"))];
  if (ctx.can("editProduct")) actions.push(h("button", { class: "btn primary", id: "edit-product", onclick: () => renderEdit(el, p, ctx) }, t("ui.edit")));
  clear(el, page(p.name, { subtitle: t("prod.one_subtitle", { code: p.code, kind: label("product_kind", p.kind) }), actions },
    h("div", { class: "cols" },
      card(t("prod.terms"), kv([
        [t("prod.on_sale"), statusBadge(Boolean(p.active))],
        [t("prod.monthly_fee"), fmt.fen(p.monthly_fee_fen)],
        [t("prod.one_time_fee"), fmt.fen(p.one_time_fee_fen)],
        [t("prod.allowance"), allowance(p)],
        [t("prod.duration"), p.duration_months ? t("unit.months", { count: p.duration_months }) : t("prod.open_ended")],
        [t("prod.eligibility"), eligibilityText(p.eligibility)],
        [t("prod.created"), fmt.date(p.created_at)],
      ])),
      card(t("prod.selling"), h("p", {}, fmt.text(p.selling_points)), h("h3", {}, t("prod.description")), h("p", {}, fmt.text(p.description))))));
}

async function renderEdit(el, p, ctx) {
  let plans = [];
  try { plans = listOf(await get("/v1/products", { kind: "plan", limit: 100 })).map((x) => [String(x.id), x.name]); } catch (e) { plans = []; }
  const e = (p && p.eligibility) || {};
  const extra = Object.keys(e).filter((k) => !ELIGIBILITY_KEYS.includes(k));
  const yuan = (fen) => (fen === null || fen === undefined ? 0 : fen / 100);
  const fields = [
    p ? null : { name: "code", label: t("prod.code"), required: true, placeholder: "DATA-20G" },
    { name: "name", label: t("prod.name"), required: true, value: p?.name },
    p ? null : { name: "kind", label: t("prod.kind"), type: "select", options: options("product_kind", KINDS) },
    { name: "monthly_fee_yuan", label: t("prod.monthly_fee_yuan"), type: "number", min: 0, max: 1000000, step: "0.01", value: yuan(p?.monthly_fee_fen) },
    { name: "one_time_fee_yuan", label: t("prod.one_time_fee_yuan"), type: "number", min: 0, max: 1000000, step: "0.01", value: yuan(p?.one_time_fee_fen) },
    { name: "data_mb", label: t("prod.data_mb"), type: "number", min: 0, max: 10000000, value: p?.data_mb ?? 0 },
    { name: "voice_min", label: t("prod.voice_min"), type: "number", min: 0, max: 1000000, value: p?.voice_min ?? 0 },
    { name: "sms", label: t("prod.sms"), type: "number", min: 0, max: 1000000, value: p?.sms ?? 0 },
    { name: "duration_months", label: t("prod.duration_months"), type: "number", min: 1, max: 120, value: p?.duration_months ?? "" },
    p ? { name: "active", label: t("prod.on_sale"), type: "checkbox", value: p.active } : null,
    ...(extra.length ? [] : [
      { name: "min_tier", label: t("prod.min_tier"), type: "select", options: [["", t("ui.none")], ...options("tier", TIER_CODES)], value: e.min_tier || "" },
      { name: "tiers", label: t("prod.tiers"), type: "checks", options: options("tier", TIER_CODES), value: e.tiers || [], wide: true },
      { name: "plan_ids", label: t("prod.plan_ids"), type: "picker", options: plans, value: e.plan_ids || [], wide: true },
      { name: "min_tenure_months", label: t("prod.min_tenure"), type: "number", min: 0, max: 600, value: e.min_tenure_months ?? "" },
      { name: "max_per_customer", label: t("prod.max_per_customer"), type: "number", min: 1, max: 100, value: e.max_per_customer ?? "" },
    ]),
    { name: "selling_points", label: t("prod.selling"), type: "textarea", wide: true, rows: 2, value: p?.selling_points },
    { name: "description", label: t("prod.description"), type: "textarea", wide: true, rows: 3, value: p?.description },
  ].filter(Boolean);
  const frm = form(fields, {
    submit: p ? t("prod.save") : t("prod.create"),
    cancel: () => (p ? renderOne(el, p.id, ctx) : ctx.go("products")),
    onSubmit: async (v) => {
      const body = {
        name: v.name, monthly_fee_fen: Math.round((v.monthly_fee_yuan || 0) * 100), one_time_fee_fen: Math.round((v.one_time_fee_yuan || 0) * 100),
        data_mb: v.data_mb ?? 0, voice_min: v.voice_min ?? 0, sms: v.sms ?? 0, selling_points: v.selling_points, description: v.description,
      };
      if (v.duration_months) body.duration_months = v.duration_months;
      if (!extra.length) {
        body.eligibility = {};
        if (v.min_tier) body.eligibility.min_tier = v.min_tier;
        if (v.tiers.length) body.eligibility.tiers = v.tiers;
        if (v.plan_ids.length) body.eligibility.plan_ids = v.plan_ids.map(Number);
        if (v.min_tenure_months !== null) body.eligibility.min_tenure_months = v.min_tenure_months;
        if (v.max_per_customer !== null) body.eligibility.max_per_customer = v.max_per_customer;
      }
      let saved;
      if (p) {
        saved = await patch(`/v1/products/${p.id}`, { ...body, active: v.active });
      } else {
        saved = await post("/v1/products", { ...body, code: v.code, kind: v.kind });
      }
      await renderOne(el, saved.id, ctx);
      el.prepend(notice("ok", t("prod.saved", { name: saved.name })));
    },
  });
  clear(el, page(p ? t("prod.edit_title", { name: p.name }) : t("prod.new"), { subtitle: t("prod.edit_subtitle") },
    extra.length ? notice("info", t("prod.extra_note", { keys: fmt.allOf(extra.map((k) => labelOr("eligibility", k))) })) : null,
    card(null, frm)));
}
