// Dashboard: customers by tier and churn risk, stability segments, four-high counts, churn trend,
// campaign results. Each panel loads on its own, so one missing or slow report never blanks the
// page, and a panel the role may not read says so instead of failing the screen.

import { ApiError, get, listOf } from "../api.js";
import { PALETTE, donut, hbars, intervals, lines, stackedBars } from "../charts.js";
import {
  FOUR_HIGH_CODES, RISK_CODES, RISK_COLORS, TIER_CODES, clear, errorBox, fmt, h, label, loading, page, pick, t,
} from "../ui.js";

const REPORTS = {
  overview: "/v1/console/overview",
  campaigns: "/v1/reports/campaigns",
  measures: "/v1/reports/overview",
  revenueRetention: "/v1/reports/revenue-retention",
};

export async function render(el) {
  const statsEl = h("div", { class: "stats", id: "dash-stats" });
  const tierEl = h("div", { class: "card", id: "dash-tiers" }, loading());
  const riskEl = h("div", { class: "card", id: "dash-risk" }, loading());
  const segEl = h("div", { class: "card", id: "dash-segments" }, loading());
  const fourEl = h("div", { class: "card", id: "dash-fourhigh" }, loading());
  const churnEl = h("div", { class: "card", id: "dash-churn" }, loading());
  const campEl = h("div", { class: "card", id: "dash-campaigns" }, loading());
  const revEl = h("div", { class: "card", id: "dash-revenue-retention" }, loading());
  const touchEl = h("div", { class: "card", id: "dash-touch-success" }, loading());
  clear(el, page(t("nav.dashboard"), { subtitle: t("dash.subtitle") },
    statsEl,
    h("div", { class: "grid" }, tierEl, riskEl),
    h("div", { class: "grid" }, fourEl, segEl),
    h("div", { class: "grid" }, churnEl, campEl),
    h("div", { class: "grid" }, revEl, touchEl)));
  const measuresData = get(REPORTS.measures);
  measuresData.catch(() => {});
  const overviewData = get(REPORTS.overview);
  overviewData.catch(() => {});
  await Promise.all([
    panel(tierEl, t("dash.tier_risk"), () => overview(overviewData, tierEl, riskEl, statsEl)),
    panel(segEl, t("dash.segments"), async () => segments(await get("/v1/engine/segments"))),
    panel(fourEl, t("dash.four_high"), async () => fourHigh(await fourHighCounts())),
    panel(churnEl, t("dash.churn_trend"), () => churn(overviewData)),
    panel(campEl, t("dash.campaigns"), async () => campaigns(await get(REPORTS.campaigns, { group_by: "campaign" }), await campaignNames())),
    panel(revEl, t("dash.revenue_retention"), async () => revenueRetention(await measuresData, listOf(await get(REPORTS.revenueRetention, { group_by: "branch" })), await branchNames())),
    panel(touchEl, t("dash.touch_success"), async () => touchSuccess(await measuresData)),
  ]);
}

async function panel(el, title, draw) {
  try {
    const out = await draw();
    if (out) clear(el, h("h2", {}, title), out);
  } catch (err) {
    clear(el, h("h2", {}, title), errorBox(err, title));
  }
}

function stat(label, value, note, id) {
  return h("div", { class: "stat", id }, h("div", { class: "label" }, label), h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}

const count = (r) => Number(pick(r, "customers", "count", "n") || 0);

// Tier × risk from the overview report when it exists; otherwise tiers alone from /v1/tiers/distribution.
async function overview(overviewData, tierEl, riskEl, statsEl) {
  let rows = null;
  let data = null;
  try {
    data = await overviewData;
    rows = listOf(pick(data, "by_tier_risk", "tier_risk", "customers_by_tier_risk") || data);
  } catch (err) {
    if (!(err instanceof ApiError && (err.unavailable || err.forbidden))) throw err;
    rows = listOf(await get("/v1/tiers/distribution")).map((r) => ({ tier: r.tier, risk_level: null, customers: r.customers }));
    clear(riskEl, h("h2", {}, t("dash.churn_risk")), errorBox(err, t("dash.by_risk")));
  }
  const tiers = TIER_CODES.filter((tier) => rows.some((r) => r.tier === tier));
  const riskKeys = [...RISK_CODES, "unscored"];
  const series = riskKeys.map((rk) => ({
    name: rk === "unscored" && !data ? t("dash.customers") : label("risk", rk),
    color: rk === "unscored" && !data ? PALETTE[0] : RISK_COLORS[rk],
    values: tiers.map((tier) => rows.filter((r) => r.tier === tier && (r.risk_level || "unscored") === rk).reduce((a, r) => a + count(r), 0)),
  })).filter((s) => s.values.some((v) => v));
  clear(tierEl, h("h2", {}, data ? t("dash.tier_risk") : t("dash.by_tier")), stackedBars({ title: null, categories: tiers.map((tier) => label("tier", tier)), series }));
  const total = rows.reduce((a, r) => a + count(r), 0);
  const vip = rows.filter((r) => ["star5", "gold", "diamond"].includes(r.tier)).reduce((a, r) => a + count(r), 0);
  const stats = [stat(t("dash.customers"), fmt.int(total), null, "stat-customers"), stat(t("dash.vip"), fmt.int(vip), total ? fmt.pct(vip / total) : null, "stat-vip")];
  if (data) {
    const byRisk = riskKeys.map((rk) => ({ label: label("risk", rk), color: RISK_COLORS[rk], value: rows.filter((r) => (r.risk_level || "unscored") === rk).reduce((a, r) => a + count(r), 0) })).filter((d) => d.value);
    clear(riskEl, h("h2", {}, t("dash.churn_risk")), donut({ title: null, data: byRisk }));
    const high = rows.filter((r) => r.risk_level === "high").reduce((a, r) => a + count(r), 0);
    stats.push(stat(t("dash.high_risk"), fmt.int(high), total ? fmt.pct(high / total) : null, "stat-high-risk"));
    for (const key of ["open_care_tasks", "active_campaigns"]) {
      if (data[key] !== undefined) stats.push(stat(t(`dash.${key}`), fmt.int(data[key])));
    }
  }
  clear(statsEl, ...stats);
  return null;
}

// [{segment, sub_segment, lifecycle_stage, customers}] → customers per segment / sub-segment.
function segments(data) {
  const rows = listOf(data);
  const totals = new Map();
  rows.forEach((r) => {
    const key = `${r.segment || ""}|${r.sub_segment || ""}`;
    totals.set(key, (totals.get(key) || 0) + count(r));
  });
  const items = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([key, value], i) => {
    const [seg, sub] = key.split("|");
    const text = seg ? `${label("segment", seg)}${sub ? ` · ${label("sub_segment", sub)}` : ""}` : t("dash.not_segmented");
    return { label: text, value, color: seg === "potential_loss" ? "#d9534f" : seg === "value_loss" ? "#e0a21b" : PALETTE[i % 2] };
  });
  return hbars({ title: null, data: items, format: (v) => fmt.int(v) });
}

// Month-end counts: the engine's endpoint for analysts, else the tracking report (reports.read),
// which lists daily and monthly periods together: keep the month ends.
async function fourHighCounts() {
  try {
    return listOf(await get("/v1/four-high/counts", { granularity: "month" }));
  } catch (err) {
    if (!(err instanceof ApiError && (err.forbidden || err.unavailable))) throw err;
    const rows = listOf(await get("/v1/reports/four-high"));
    const monthEnd = (p) => { const d = new Date(`${String(p).slice(0, 10)}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1); return d.getUTCDate() === 1; };
    return rows.filter((r) => monthEnd(r.period)).map((r) => ({ ...r, n: r.flagged }));
  }
}

// [{period, kind, n, cared, normalised}] by month → latest month bars and a line per kind.
function fourHigh(rows) {
  const kinds = FOUR_HIGH_CODES;
  const periods = [...new Set(rows.map((r) => String(r.period).slice(0, 7)))].sort();
  const last = periods.at(-1);
  const of = (k, p) => rows.filter((r) => r.kind === k && String(r.period).slice(0, 7) === p).reduce((a, r) => a + count(r), 0);
  const out = [hbars({ title: last ? t("dash.flagged_in", { month: fmt.month(last) }) : null, data: kinds.map((k, i) => ({ label: label("four_high", k), color: PALETTE[i + 2], value: of(k, last) })), format: (v) => fmt.int(v) })];
  if (periods.length > 1) {
    out.push(lines({ title: t("dash.month_by_month"), labels: periods.map((p) => fmt.monthAxis(p)), series: kinds.map((k, i) => ({ name: label("four_high", k), color: PALETTE[i + 2], values: periods.map((p) => of(k, p)) })) }));
  }
  return out;
}

// Monthly churn (customers who left / customers at the start of the month) and, beside it, the
// churn model's quality by version (how well the early warning ranks who will leave).
async function churn(overviewData) {
  const out = [];
  try {
    const data = await overviewData;
    out.push(churnTrend(data.churn_trend || []));
  } catch (err) {
    out.push(errorBox(err, t("dash.monthly_churn")));
  }
  try {
    const quality = listOf(await get("/v1/reports/churn-models"));
    if (quality.length) {
      out.push(lines({ title: t("dash.model_quality"), labels: quality.map((m) => `v${m.version}`), series: [{ name: "ROC AUC", values: quality.map((m) => m.roc_auc ?? m.auc ?? null), color: "#8a5cd0" }], yMax: 1, format: (v) => fmt.num(v, 2), height: 160 }));
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  return out;
}

async function campaignNames() {
  try {
    return Object.fromEntries(listOf(await get("/v1/campaigns", { limit: 100 })).map((c) => [String(c.id), c.name]));
  } catch (err) {
    return {};
  }
}

// [{month: "YYYY-MM", base, churned, churn_rate}]
function churnTrend(rows) {
  const labels = rows.map((r) => fmt.monthAxis(r.month));
  const rate = rows.map((r) => (r.churn_rate === null || r.churn_rate === undefined ? null : r.churn_rate * 100));
  const total = rows.reduce((a, r) => a + (r.churned || 0), 0);
  return [
    lines({ title: null, labels, series: [{ name: t("dash.churn_rate"), values: rate, color: "#d9534f" }], format: (v) => fmt.pct(v / 100, 1) }),
    h("p", { class: "chart-note", id: "churn-total" }, t("dash.churn_total", { count: total, months: rows.length })),
  ];
}

// /v1/reports/campaigns?group_by=campaign: [{group: campaign id, retention_uplift, retention_uplift_ci_low/high, ...}]
function campaigns(data, names) {
  const rows = listOf(data).filter((r) => r.retention_uplift !== null && r.retention_uplift !== undefined).slice(-8);
  if (!rows.length) return h("p", { class: "muted" }, t("dash.no_results"));
  const items = rows.map((r) => ({ label: String(names[r.group] ?? t("dash.campaign_n", { id: r.group })).slice(0, 22), value: r.retention_uplift, lo: r.retention_uplift_ci_low ?? null, hi: r.retention_uplift_ci_high ?? null }));
  return [intervals({ title: null, rows: items, format: (v) => fmt.pp(v), caption: t("dash.uplift_caption") }),
    h("p", { class: "chart-note" }, h("a", { href: "#/campaigns" }, t("dash.all_campaigns")))];
}

async function branchNames() {
  try {
    return Object.fromEntries(listOf(await get("/v1/org-units", { kind: "branch" })).map((u) => [String(u.id), u.name]));
  } catch (err) {
    return {};
  }
}

// Seed 000's 累积出账收入保有率 (period bills ÷ months × base-month bills of the stock): the total from
// /v1/reports/overview, then one bar per branch from /v1/reports/revenue-retention?group_by=branch.
function revenueRetention(overviewData, rows, names) {
  const total = overviewData.revenue_retention;
  const out = [];
  if (total) {
    out.push(h("p", { class: "chart-note", id: "revenue-retention-total" }, t("dash.revenue_retention_total", {
      v: fmt.pct(total.revenue_retention), base: fmt.month(total.base_month), from: fmt.month(total.first_month), to: fmt.month(total.last_month),
    })));
  }
  const items = rows.filter((r) => r.revenue_retention !== null && r.revenue_retention !== undefined).map((r) => ({
    label: String(r.group === "none" ? t("camp.no_branch") : names[String(r.group)] ?? `#${r.group}`).slice(0, 22), value: r.revenue_retention,
  }));
  if (!items.length && !total) return h("p", { class: "muted" }, t("dash.no_revenue_retention"));
  if (items.length) out.push(hbars({ title: t("dash.by_branch"), data: items, format: (v) => fmt.pct(v, 1) }));
  out.push(h("p", { class: "chart-note" }, t("dash.revenue_retention_help")));
  return out;
}

// Touch success (a success outcome or an order credited to the touch) offline vs online, this year.
function touchSuccess(data) {
  const row = (key, color) => {
    const r = data[key];
    return { label: t(`dash.${key}`), value: r ? r.touch_success_rate : null, lo: r ? r.touch_success_ci_low : null, hi: r ? r.touch_success_ci_high : null, touches: r ? r.touches : 0, color };
  };
  const rows = [row("offline", PALETTE[1]), row("online", PALETTE[0])];
  if (!rows.some((r) => r.touches)) return h("p", { class: "muted" }, t("dash.no_touches"));
  return [
    hbars({ title: t("dash.period", { from: fmt.month(data.period_from), to: fmt.month(data.period_to) }), data: rows.filter((r) => r.value !== null && r.value !== undefined), format: (v) => fmt.pct(v, 1) }),
    h("ul", { class: "chart-note", id: "touch-success" }, ...rows.map((r) => h("li", { "data-class": r.label },
      t("dash.touch_success_row", { name: r.label, v: fmt.pct(r.value), touches: fmt.int(r.touches),
        ci: r.lo !== null && r.lo !== undefined ? t("camp.ci_short", { lo: fmt.pct(r.lo), hi: fmt.pct(r.hi) }) : "—" })))),
    data.contacts_per_customer_per_year !== null && data.contacts_per_customer_per_year !== undefined
      ? h("p", { class: "chart-note" }, t("dash.contacts_per_customer", { v: fmt.num(data.contacts_per_customer_per_year, 2) }))
      : null,
  ].filter(Boolean);
}
