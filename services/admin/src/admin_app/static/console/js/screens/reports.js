// Tracking reports (seed 002: the list-based retention system tracked by scale, efficiency and
// cost): contacts per customer per year and touch success offline vs online, by month, channel,
// branch or campaign; campaign results (retention and ARPU of the contacted group against the
// hold-out, cost per retained customer) by campaign, strategy, channel, branch or month; four-high
// counts; churn-model quality. Every table also as CSV. Branch heads see their branch only (the
// API scopes it). API: GET /v1/reports/touches, /campaigns, /four-high, /churn-models.

import { download, get, listOf } from "../api.js";
import { PALETTE, intervals, lines, stackedBars } from "../charts.js";
import {
  FOUR_HIGH_CODES, attempt, card, clear, errorBox, filters, fmt, h, label, labelOr, loading, page, t, table, tabs,
} from "../ui.js";

const TABS = ["touches", "campaigns", "fourhigh", "models"];
const TOUCH_GROUPS = ["month", "channel", "branch", "campaign"];
const CAMPAIGN_GROUPS = ["campaign", "strategy", "channel", "branch", "month"];

export async function render(el, { query, ctx }) {
  const tab = TABS.includes(query.tab) ? query.tab : "touches";
  const body = h("div", {}, loading());
  clear(el, page(t("nav.reports"), { subtitle: t("rep.subtitle") },
    tabs(TABS.map((id) => [id, t(`rep.tab.${id}`)]), tab, (id) => ctx.go("reports", [], { tab: id })), body));
  const names = await groupNames();
  if (tab === "campaigns") return campaignsTab(body, query, ctx, names);
  if (tab === "fourhigh") return fourHighTab(body);
  if (tab === "models") return modelsTab(body);
  return touchesTab(body, query, ctx, names);
}

// Readable names for group keys: branches, campaigns and strategies the caller may read.
async function groupNames() {
  const out = { branch: {}, campaign: {}, strategy: {} };
  const fill = async (kind, path, query) => {
    try { listOf(await get(path, query)).forEach((x) => { out[kind][String(x.id)] = x.name; }); } catch (e) { /* ids will do */ }
  };
  await Promise.all([fill("branch", "/v1/org-units", { kind: "branch" }), fill("campaign", "/v1/campaigns", { limit: 100 }), fill("strategy", "/v1/strategies", { limit: 100 })]);
  return out;
}

function groupLabel(groupBy, g, names) {
  if (g === "none" || g === null || g === undefined) return t("rep.none_group");
  if (groupBy === "month") return fmt.month(g);
  if (groupBy === "channel") return labelOr("channel", g);
  return names[groupBy]?.[String(g)] ?? `#${g}`;
}

function csvButton(path, query, filename) {
  const msg = h("span");
  return h("span", {}, h("button", { class: "btn", type: "button", onclick: async () => {
    clear(msg);
    try { await download(path, { ...query, format: "csv" }, filename); } catch (err) { clear(msg, errorBox(err, t("ui.csv_export"))); }
  } }, t("ui.export_csv")), msg);
}

async function touchesTab(body, query, ctx, names) {
  const groupBy = TOUCH_GROUPS.includes(query.group_by) ? query.group_by : "month";
  const q = { group_by: groupBy, from: query.from, to: query.to };
  const data = await attempt(body, t("rep.tab.touches"), () => get("/v1/reports/touches", q));
  if (!data) return;
  const rows = listOf(data);
  const bar = filters([
    { name: "group_by", label: t("rep.group_by"), type: "select", options: TOUCH_GROUPS.map((g) => [g, t(`rep.by.${g}`)]), any: t("rep.by.month") },
    { name: "from", label: t("rep.from"), type: "month" },
    { name: "to", label: t("rep.to"), type: "month" },
  ], query, (vals) => ctx.go("reports", [], { tab: "touches", ...vals }));
  const total = rows.reduce((a, r) => ({ touches: a.touches + r.touches, cost: a.cost + r.cost_fen }), { touches: 0, cost: 0 });
  const chart = groupBy === "month" && rows.length
    ? lines({ title: t("rep.success_trend"), labels: rows.map((r) => fmt.monthAxis(r.group)), format: (v) => fmt.pct(v, 0), yMax: 1,
      series: [
        { name: t("rep.offline_success"), values: rows.map((r) => r.offline_success_rate), color: PALETTE[1] },
        { name: t("rep.online_success"), values: rows.map((r) => r.online_success_rate), color: PALETTE[0] },
      ] })
    : stackedBars({ title: t("rep.touches_by", { by: t(`rep.by.${groupBy}`) }), categories: rows.map((r) => groupLabel(groupBy, r.group, names)),
      series: [
        { name: t("rep.offline"), values: rows.map((r) => r.offline_touches), color: PALETTE[1] },
        { name: t("rep.online"), values: rows.map((r) => r.online_touches), color: PALETTE[0] },
      ] });
  clear(body, bar,
    h("div", { class: "stats" },
      stat(t("rep.touches"), fmt.int(total.touches)),
      stat(t("rep.cost"), fmt.fen(total.cost))),
    card(t("rep.touch_title"), chart, h("p", { class: "help" }, t("rep.touch_help")),
      table([
        { key: "group", label: t(`rep.by.${groupBy}`), render: (r) => groupLabel(groupBy, r.group, names) },
        { key: "touches", label: t("rep.touches"), class: "num", render: (r) => fmt.int(r.touches) },
        { key: "customers_reached", label: t("rep.reached"), class: "num", render: (r) => fmt.int(r.customers_reached) },
        { key: "contacts_per_customer_per_year", label: t("rep.per_customer_year"), class: "num", render: (r) => fmt.num(r.contacts_per_customer_per_year, 2) },
        { key: "touch_success_rate", label: t("rep.success"), class: "num", render: (r) => fmt.pct(r.touch_success_rate) },
        { key: "offline", label: t("rep.offline_col"), class: "num", render: (r) => `${fmt.int(r.offline_touches)} · ${fmt.pct(r.offline_success_rate)}` },
        { key: "online", label: t("rep.online_col"), class: "num", render: (r) => `${fmt.int(r.online_touches)} · ${fmt.pct(r.online_success_rate)}` },
        { key: "cost_fen", label: t("rep.cost"), class: "num", render: (r) => fmt.fen(r.cost_fen) },
      ], rows, { empty: t("rep.no_touches") }),
      h("div", { class: "actions" }, csvButton("/v1/reports/touches", q, `touches-by-${groupBy}.csv`))));
}

function stat(name, value, note) {
  return h("div", { class: "stat" }, h("div", { class: "label" }, name), h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}

async function campaignsTab(body, query, ctx, names) {
  const groupBy = CAMPAIGN_GROUPS.includes(query.group_by) ? query.group_by : "campaign";
  const q = { group_by: groupBy };
  const data = await attempt(body, t("rep.tab.campaigns"), () => get("/v1/reports/campaigns", q));
  if (!data) return;
  const rows = listOf(data);
  const bar = filters([
    { name: "group_by", label: t("rep.group_by"), type: "select", options: CAMPAIGN_GROUPS.map((g) => [g, t(`rep.by.${g}`)]), any: t("rep.by.campaign") },
  ], query, (vals) => ctx.go("reports", [], { tab: "campaigns", ...vals }));
  const has = (v) => v !== null && v !== undefined;
  const uplift = rows.filter((r) => has(r.retention_uplift)).map((r) => ({ label: groupLabel(groupBy, r.group, names), value: r.retention_uplift, lo: r.retention_uplift_ci_low, hi: r.retention_uplift_ci_high }));
  clear(body, bar,
    card(t("rep.campaign_title"),
      intervals({ title: t("rep.uplift_chart"), rows: uplift, format: (v) => fmt.pp(v) }),
      h("p", { class: "help" }, t("rep.campaign_help")),
      table([
        { key: "group", label: t(`rep.by.${groupBy}`), render: (r) => groupLabel(groupBy, r.group, names) },
        { key: "members", label: t("rep.members"), class: "num", render: (r) => `${fmt.int(r.treated)} / ${fmt.int(r.holdout)}` },
        { key: "reach_rate", label: t("rep.reach"), class: "num", render: (r) => fmt.pct(r.reach_rate) },
        { key: "touch_success_rate", label: t("rep.success"), class: "num", render: (r) => fmt.pct(r.touch_success_rate) },
        { key: "off_on", label: t("rep.off_on"), class: "num", render: (r) => `${fmt.pct(r.offline_success_rate)} / ${fmt.pct(r.online_success_rate)}` },
        { key: "acceptance_rate", label: t("rep.acceptance"), class: "num", render: (r) => fmt.pct(r.acceptance_rate) },
        { key: "retention", label: t("rep.retention"), class: "num", render: (r) => `${fmt.pct(r.retention_treated)} / ${fmt.pct(r.retention_holdout)}` },
        { key: "retention_uplift", label: t("rep.uplift"), class: "num", render: (r) => fmt.pp(r.retention_uplift) },
        { key: "arpu", label: t("rep.arpu_change"), class: "num", render: (r) => `${fmt.fen(r.arpu_change_treated_fen)} / ${fmt.fen(r.arpu_change_holdout_fen)}` },
        { key: "arpu_uplift_fen", label: t("rep.arpu_uplift"), class: "num", render: (r) => fmt.fen(r.arpu_uplift_fen) },
        { key: "cost_fen", label: t("rep.cost"), class: "num", render: (r) => fmt.fen(r.cost_fen) },
        { key: "cost_per_retained_fen", label: t("rep.cost_per_retained"), class: "num", render: (r) => fmt.fen(r.cost_per_retained_fen) },
      ], rows, { empty: t("rep.no_campaigns") }),
      h("div", { class: "actions" }, csvButton("/v1/reports/campaigns", q, `campaigns-by-${groupBy}.csv`))));
}

async function fourHighTab(body) {
  const data = await attempt(body, t("rep.tab.fourhigh"), () => get("/v1/reports/four-high"));
  if (!data) return;
  const monthEnd = (p) => { const d = new Date(`${String(p).slice(0, 10)}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1); return d.getUTCDate() === 1; };
  const rows = listOf(data).filter((r) => monthEnd(r.period));
  const months = [...new Set(rows.map((r) => String(r.period).slice(0, 7)))].sort();
  const cell = (m, k, f) => rows.filter((r) => String(r.period).slice(0, 7) === m && r.kind === k).reduce((a, r) => a + Number(r[f] || 0), 0);
  clear(body, card(t("rep.fourhigh_title"),
    stackedBars({ title: null, categories: months.map((m) => fmt.monthAxis(m)), series: FOUR_HIGH_CODES.map((k, i) => ({ name: label("four_high", k), color: PALETTE[i + 2], values: months.map((m) => cell(m, k, "flagged")) })) }),
    table([
      { key: "month", label: t("rep.month"), render: (r) => fmt.month(r.month) },
      ...FOUR_HIGH_CODES.map((k) => ({ key: k, label: label("four_high", k), class: "num",
        render: (r) => t("rep.fh_cell", { flagged: fmt.int(cell(r.month, k, "flagged")), cared: fmt.int(cell(r.month, k, "cared")), normal: fmt.int(cell(r.month, k, "normalised")) }) })),
    ], months.map((m) => ({ month: m })), { empty: t("rep.no_fourhigh") }),
    h("p", { class: "help" }, t("rep.fh_help")),
    h("div", { class: "actions" }, csvButton("/v1/reports/four-high", {}, "four-high.csv"))));
}

async function modelsTab(body) {
  const data = await attempt(body, t("rep.tab.models"), () => get("/v1/reports/churn-models"));
  if (!data) return;
  const rows = listOf(data);
  const metrics = ["roc_auc", "top_decile_lift", "precision_at_capacity"].filter((k) => rows.some((r) => r[k] !== undefined));
  clear(body, card(t("rep.models_title"), table([
    { key: "version", label: t("model.version"), render: (r) => `v${r.version}` },
    { key: "algorithm", label: t("model.algorithm"), render: (r) => labelOr("algorithm", r.algorithm) },
    { key: "window", label: t("model.window"), class: "nowrap", render: (r) => `${fmt.date(r.train_from)} → ${fmt.date(r.train_to)}` },
    ...metrics.map((k) => ({ key: k, label: label("metric", k), class: "num", render: (r) => fmt.num(r[k], 3) })),
    { key: "active", label: t("model.active"), render: (r) => (r.active ? t("ui.yes") : "") },
  ], rows, { empty: t("model.none") }), h("div", { class: "actions" }, csvButton("/v1/reports/churn-models", {}, "churn-models.csv"))));
}
