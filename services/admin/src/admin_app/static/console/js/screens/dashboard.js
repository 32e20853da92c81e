// Dashboard: customers by tier and churn risk, stability segments, four-high counts, churn trend,
// campaign results. Each panel loads on its own, so one missing or slow report never blanks the
// page, and a panel the role may not read says so instead of failing the screen.

import { ApiError, get, listOf } from "../api.js";
import { PALETTE, donut, hbars, intervals, lines, stackedBars } from "../charts.js";
import { FOUR_HIGH, RISKS, RISK_COLORS, TIERS, clear, errorBox, fmt, h, loading, page, pick } from "../ui.js";

const REPORTS = {
  overview: "/v1/console/overview",
  campaigns: "/v1/reports/campaigns",
};

export async function render(el) {
  const statsEl = h("div", { class: "stats", id: "dash-stats" });
  const tierEl = h("div", { class: "card", id: "dash-tiers" }, loading());
  const riskEl = h("div", { class: "card", id: "dash-risk" }, loading());
  const segEl = h("div", { class: "card", id: "dash-segments" }, loading());
  const fourEl = h("div", { class: "card", id: "dash-fourhigh" }, loading());
  const churnEl = h("div", { class: "card", id: "dash-churn" }, loading());
  const campEl = h("div", { class: "card", id: "dash-campaigns" }, loading());
  clear(el, page("Dashboard", { subtitle: "The customer base at a glance: value tiers, churn risk, anomalies and what campaigns achieved." },
    statsEl,
    h("div", { class: "grid" }, tierEl, riskEl),
    h("div", { class: "grid" }, fourEl, segEl),
    h("div", { class: "grid" }, churnEl, campEl)));
  const overviewData = get(REPORTS.overview);
  overviewData.catch(() => {});
  await Promise.all([
    panel(tierEl, "Customers by tier and churn risk", () => overview(overviewData, tierEl, riskEl, statsEl)),
    panel(segEl, "Stability segments", async () => segments(await get("/v1/engine/segments"))),
    panel(fourEl, "Four-high anomalies", async () => fourHigh(await fourHighCounts())),
    panel(churnEl, "Churn trend", () => churn(overviewData)),
    panel(campEl, "Campaign results", async () => campaigns(await get(REPORTS.campaigns, { group_by: "campaign" }), await campaignNames())),
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
    clear(riskEl, h("h2", {}, "Churn risk"), errorBox(err, "Customers by churn risk"));
  }
  const tiers = TIERS.filter(([t]) => rows.some((r) => r.tier === t));
  const riskKeys = [...RISKS.map(([r]) => r), "unscored"];
  const series = riskKeys.map((rk) => ({
    name: rk === "unscored" ? (data ? "not scored" : "customers") : `${rk} risk`,
    color: rk === "unscored" && !data ? PALETTE[0] : RISK_COLORS[rk],
    values: tiers.map(([t]) => rows.filter((r) => r.tier === t && (r.risk_level || "unscored") === rk).reduce((a, r) => a + count(r), 0)),
  })).filter((s) => s.values.some((v) => v));
  clear(tierEl, h("h2", {}, data ? "Customers by tier and churn risk" : "Customers by tier"), stackedBars({ title: null, categories: tiers.map(([, l]) => l), series }));
  const total = rows.reduce((a, r) => a + count(r), 0);
  const vip = rows.filter((r) => ["star5", "gold", "diamond"].includes(r.tier)).reduce((a, r) => a + count(r), 0);
  const stats = [stat("Customers", fmt.int(total), null, "stat-customers"), stat("VIP (5★, gold, diamond)", fmt.int(vip), total ? fmt.pct(vip / total) : null, "stat-vip")];
  if (data) {
    const byRisk = riskKeys.map((rk) => ({ label: rk === "unscored" ? "not scored" : rk, color: RISK_COLORS[rk], value: rows.filter((r) => (r.risk_level || "unscored") === rk).reduce((a, r) => a + count(r), 0) })).filter((d) => d.value);
    clear(riskEl, h("h2", {}, "Churn risk"), donut({ title: null, data: byRisk }));
    const high = rows.filter((r) => r.risk_level === "high").reduce((a, r) => a + count(r), 0);
    stats.push(stat("High churn risk", fmt.int(high), total ? fmt.pct(high / total) : null, "stat-high-risk"));
    for (const [key, label] of [["open_care_tasks", "Open care tasks"], ["active_campaigns", "Running campaigns"]]) {
      if (data[key] !== undefined) stats.push(stat(label, fmt.int(data[key])));
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
    const key = r.segment ? `${r.segment}${r.sub_segment ? ` · ${r.sub_segment}` : ""}` : "not segmented";
    totals.set(key, (totals.get(key) || 0) + count(r));
  });
  const items = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)
    .map(([label, value], i) => ({ label: label.replaceAll("_", " "), value, color: label.startsWith("potential_loss") ? "#d9534f" : label.startsWith("potential_value") || label.startsWith("value") ? "#e0a21b" : PALETTE[i % 2] }));
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
  const label = Object.fromEntries(FOUR_HIGH);
  const kinds = FOUR_HIGH.map(([k]) => k);
  const periods = [...new Set(rows.map((r) => String(r.period).slice(0, 7)))].sort();
  const last = periods.at(-1);
  const of = (k, p) => rows.filter((r) => r.kind === k && String(r.period).slice(0, 7) === p).reduce((a, r) => a + count(r), 0);
  const out = [hbars({ title: last ? `Flagged customers, ${last}` : null, data: kinds.map((k, i) => ({ label: label[k], color: PALETTE[i + 2], value: of(k, last) })), format: (v) => fmt.int(v) })];
  if (periods.length > 1) {
    out.push(lines({ title: "Month by month", labels: periods, series: kinds.map((k, i) => ({ name: label[k], color: PALETTE[i + 2], values: periods.map((p) => of(k, p)) })) }));
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
    out.push(errorBox(err, "Monthly churn trend"));
  }
  try {
    const quality = listOf(await get("/v1/reports/churn-models"));
    if (quality.length) {
      out.push(lines({ title: "Early-warning model quality (ROC AUC by version)", labels: quality.map((m) => `v${m.version}`), series: [{ name: "ROC AUC", values: quality.map((m) => m.roc_auc ?? m.auc ?? null), color: "#8a5cd0" }], yMax: 1, format: (v) => v.toFixed(2), height: 160 }));
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
  const labels = rows.map((r) => r.month);
  const rate = rows.map((r) => (r.churn_rate === null || r.churn_rate === undefined ? null : r.churn_rate * 100));
  const total = rows.reduce((a, r) => a + (r.churned || 0), 0);
  return [
    lines({ title: null, labels, series: [{ name: "monthly churn rate %", values: rate, color: "#d9534f" }], format: (v) => `${v.toFixed(1)}%` }),
    h("p", { class: "chart-note", id: "churn-total" }, `${fmt.int(total)} customer${total === 1 ? "" : "s"} left in the last ${rows.length} months.`),
  ];
}

// /v1/reports/campaigns?group_by=campaign: [{group: campaign id, retention_uplift, retention_uplift_ci_low/high, ...}]
function campaigns(data, names) {
  const rows = listOf(data).filter((r) => r.retention_uplift !== null && r.retention_uplift !== undefined).slice(-8);
  if (!rows.length) return h("p", { class: "muted" }, "No launched campaign has results yet.");
  const items = rows.map((r) => ({ label: String(names[r.group] ?? `campaign ${r.group}`).slice(0, 22), value: r.retention_uplift, lo: r.retention_uplift_ci_low ?? null, hi: r.retention_uplift_ci_high ?? null }));
  return [intervals({ title: null, rows: items, format: (v) => `${(v * 100).toFixed(1)} pp`, caption: "Retention of the contacted group minus the hold-out group, with 95% confidence intervals. Green: significantly positive." }),
    h("p", { class: "chart-note" }, h("a", { href: "#/campaigns" }, "All campaigns and their reports ›"))];
}
