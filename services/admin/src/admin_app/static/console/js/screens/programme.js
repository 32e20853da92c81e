// The points programme (seed 001: points plan, check-in, exchange): the published rules for
// check-in rewards and make-up days, points accrual per tier, expiry and airtime exchange, and the
// SMS texts subscribers receive, edited by operators; the monthly accrual and expiry jobs for administrators.
// API: GET/PUT /v1/programme/rules/{key}, POST /v1/ledger/points/accrual-runs, /expiry-runs.

import { get, post, put } from "../api.js";
import { TIER_CODES, attempt, card, clear, errorBox, fmt, form, h, kv, label, loading, notice, page, t } from "../ui.js";

export async function render(el, { ctx }) {
  clear(el, loading());
  const rules = await attempt(el, t("nav.programme"), () => get("/v1/programme/rules"));
  if (!rules) return;
  const editable = ctx.can("editProgramme");
  const sections = [
    checkin(rules.checkin_rules, editable, el, ctx),
    accrual(rules.points_accrual, editable, el, ctx),
    expiry(rules.points_expiry, editable, el, ctx),
    exchange(rules.points_exchange, editable, el, ctx),
    rules.sms_templates ? smsTemplates(rules.sms_templates, editable, el, ctx) : null,
  ];
  clear(el, page(t("nav.programme"), { subtitle: t("prog.subtitle") },
    h("div", { class: "grid" }, sections),
    ctx.can("runPointsJobs") ? jobs() : null));
}

async function publish(key, body, el, ctx) {
  await put(`/v1/programme/rules/${key}`, body);
  await render(el, { ctx });
  el.prepend(notice("ok", t("prog.published", { rule: t(`prog.${key}`) })));
}

function section(key, summary, editable, fields, toBody, el, ctx) {
  const box = h("div", { class: "card", dataset: { rule: key } });
  const show = () => clear(box, h("div", { class: "card-head" }, h("h2", {}, t(`prog.${key}`)),
    editable ? h("button", { class: "btn small", dataset: { edit: key }, onclick: edit }, t("ui.edit")) : null), summary);
  function edit() {
    clear(box, h("h2", {}, t(`prog.${key}`)), form(fields, {
      submit: t("prog.publish"),
      cancel: show,
      onSubmit: (vals) => publish(key, toBody(vals), el, ctx),
    }));
  }
  show();
  return box;
}

function checkin(r, editable, el, ctx) {
  const rewards = r.rewards || [];
  const mk = r.makeup || {};
  const summary = h("div", {},
    h("p", {}, t("prog.rewards_text", { rewards: rewards.map((n) => fmt.int(n)).join(" → "), days: rewards.length })),
    kv([
      [t("prog.makeup"), mk.enabled ? t("prog.makeup_on", { days: mk.max_days_back, cost: fmt.int(mk.cost_points), per_month: mk.max_per_month }) : t("prog.off")],
    ]));
  return section("checkin_rules", summary, editable, [
    { name: "rewards", label: t("prog.rewards"), required: true, value: rewards.join(", "), help: t("prog.rewards_help"), wide: true },
    { name: "makeup_enabled", label: t("prog.makeup_enabled"), type: "checkbox", value: mk.enabled },
    { name: "max_days_back", label: t("prog.max_days_back"), type: "number", min: 0, max: 31, value: mk.max_days_back, required: true },
    { name: "cost_points", label: t("prog.cost_points"), type: "number", min: 0, max: 100000, value: mk.cost_points, required: true },
    { name: "max_per_month", label: t("prog.max_per_month"), type: "number", min: 0, max: 31, value: mk.max_per_month, required: true },
  ], (v) => ({
    rewards: String(v.rewards).split(/[\s,，、]+/).filter(Boolean).map(Number),
    makeup: { enabled: v.makeup_enabled, max_days_back: v.max_days_back, cost_points: v.cost_points, max_per_month: v.max_per_month },
  }), el, ctx);
}

function accrual(r, editable, el, ctx) {
  const per = r.per_yuan || {};
  const summary = h("div", {},
    kv([
      ...TIER_CODES.map((tier) => [label("tier", tier), t("prog.per_yuan_value", { n: fmt.num(per[tier] ?? 0, 1) })]),
      [t("prog.tenure_points"), t("prog.tenure_value", { n: fmt.int(r.tenure_points_per_year), cap: r.tenure_cap_years })],
      [t("prog.monthly_cap"), t("unit.points", { count: r.max_points_per_month })],
    ]));
  return section("points_accrual", summary, editable, [
    ...TIER_CODES.map((tier) => ({ name: `rate_${tier}`, label: t("prog.rate_for", { tier: label("tier", tier) }), type: "number", min: 0, max: 100, step: "0.1", value: per[tier] ?? 0, required: true })),
    { name: "tenure_points_per_year", label: t("prog.tenure_points"), type: "number", min: 0, max: 10000, value: r.tenure_points_per_year, required: true },
    { name: "tenure_cap_years", label: t("prog.tenure_cap"), type: "number", min: 0, max: 50, value: r.tenure_cap_years, required: true },
    { name: "max_points_per_month", label: t("prog.monthly_cap"), type: "number", min: 0, max: 1000000, value: r.max_points_per_month, required: true },
  ], (v) => ({
    per_yuan: Object.fromEntries(TIER_CODES.map((tier) => [tier, v[`rate_${tier}`]])),
    tenure_points_per_year: v.tenure_points_per_year, tenure_cap_years: v.tenure_cap_years, max_points_per_month: v.max_points_per_month,
  }), el, ctx);
}

function expiry(r, editable, el, ctx) {
  const text = r.mode === "rolling_months" ? t("prog.expiry_rolling", { months: r.months }) : t("prog.expiry_year_end", { years: r.years_after });
  return section("points_expiry", h("p", {}, text), editable, [
    { name: "mode", label: t("prog.expiry_mode"), type: "select", options: [["end_of_year", t("prog.mode.end_of_year")], ["rolling_months", t("prog.mode.rolling_months")]], value: r.mode },
    { name: "years_after", label: t("prog.years_after"), type: "number", min: 0, max: 10, value: r.years_after ?? 1, required: true },
    { name: "months", label: t("prog.months"), type: "number", min: 1, max: 120, value: r.months ?? 24, required: true },
  ], (v) => ({ mode: v.mode, years_after: v.years_after, months: v.months }), el, ctx);
}

function exchange(r, editable, el, ctx) {
  const summary = kv([
    [t("prog.exchange_enabled"), r.enabled ? t("ui.yes") : t("ui.no")],
    [t("prog.rate"), t("prog.rate_value", { fen: fmt.fen(r.airtime_fen_per_point) })],
    [t("prog.min_points"), t("unit.points", { count: r.min_points })],
  ]);
  return section("points_exchange", summary, editable, [
    { name: "enabled", label: t("prog.exchange_enabled"), type: "checkbox", value: r.enabled },
    { name: "airtime_fen_per_point", label: t("prog.rate_fen"), type: "number", min: 1, max: 100, value: r.airtime_fen_per_point, required: true },
    { name: "min_points", label: t("prog.min_points"), type: "number", min: 1, max: 1000000, value: r.min_points, required: true },
  ], (v) => ({ enabled: v.enabled, airtime_fen_per_point: v.airtime_fen_per_point, min_points: v.min_points }), el, ctx);
}

// Each template's {placeholders} are the ones the server lets it use (its current text shows them);
// the operator's signature is put first when a message is sent, so it is not part of a template.
const SMS_KEYS = ["otp", "campaign_offer", "refusal_confirmation", "order_confirmation", "rebate_instalment"];

function smsTemplates(r, editable, el, ctx) {
  const keys = SMS_KEYS.filter((k) => typeof r[k] === "string");
  const uses = (k) => (r[k].match(/\{\w+\}/g) || []).join(" ");
  const summary = h("div", {}, h("p", { class: "help" }, t("prog.sms_help")), kv(keys.map((k) => [t(`prog.sms.${k}`), r[k]])));
  return section("sms_templates", summary, editable,
    keys.map((k) => ({ name: k, label: t(`prog.sms.${k}`), type: "textarea", rows: 2, value: r[k], required: true, wide: true,
      help: t("prog.sms_placeholders", { list: uses(k) || "—" }) })),
    (v) => Object.fromEntries(keys.map((k) => [k, v[k]])), el, ctx);
}

function jobs() {
  const out = h("div", { id: "points-job-result" });
  const run = async (path, body, what) => {
    clear(out, loading());
    try {
      const r = await post(path, body);
      clear(out, notice("ok", t("prog.job_done", { what }), " ", h("code", {}, JSON.stringify(r))));
    } catch (err) {
      clear(out, errorBox(err, what));
    }
  };
  const month = new Date(Date.now() - 28 * 86400000).toISOString().slice(0, 7);
  return card(t("prog.jobs"), h("p", { class: "help" }, t("prog.jobs_help")),
    h("div", { class: "cols" },
      form([{ name: "month", label: t("prog.accrual_month"), type: "month", value: month, required: true }], {
        submit: t("prog.run_accrual"), onSubmit: (v) => run("/v1/ledger/points/accrual-runs", { month: v.month }, t("prog.run_accrual")),
      }),
      form([{ name: "as_of", label: t("prog.expiry_day"), type: "date" }], {
        submit: t("prog.run_expiry"), onSubmit: (v) => run("/v1/ledger/points/expiry-runs", v.as_of ? { as_of: v.as_of } : {}, t("prog.run_expiry")),
      })),
    out);
}
