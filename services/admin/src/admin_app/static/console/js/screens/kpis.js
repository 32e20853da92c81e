// Account-manager KPIs (seed 001, table 1) by branch and manager for a month, weighted into a
// score with the rank in the branch, and their publication: the same table as a CSV to send out,
// while each manager reads their own figures in the manager app. API: GET /v1/reports/manager-kpis.

import { download, get, listOf } from "../api.js";
import { hbars, lines } from "../charts.js";
import { attempt, card, clear, errorBox, filters, fmt, h, label, loading, page, t, table } from "../ui.js";

// Seed 001 table 1, in its order, with the importance (stars) the API uses as weights.
export const KPIS = [["routine_care", 5], ["greetings", 4], ["privilege_awareness", 1], ["offer_participation", 3], ["contract_rate", 5], ["value_retention", 4], ["satisfaction", 5]];

function thisMonth() {
  return new Date().toISOString().slice(0, 7);
}

// {"routine_care (w5)": 0.5, …} → {routine_care: 0.5, …}
function indicators(row) {
  const out = {};
  for (const [k, v] of Object.entries(row)) {
    const m = /^([a-z_]+) \(w\d+\)$/.exec(k);
    if (m) out[m[1]] = v;
  }
  return out;
}

const stars = (n) => h("span", { class: "stars", title: t("kpi.weight", { n }) }, "★".repeat(n));

export async function render(el, { query, ctx }) {
  const month = query.month || thisMonth();
  let units = [];
  try { units = listOf(await get("/v1/org-units", { kind: "branch" })); } catch (e) { units = []; }
  const q = { month, branch_id: query.branch_id };
  const data = await attempt(el, t("nav.kpis"), () => get("/v1/reports/manager-kpis", q));
  if (!data) return;
  const rows = listOf(data).map((r) => ({ ...r, ind: indicators(r) }));
  const msg = h("div");
  const bar = filters([
    { name: "month", label: t("kpi.month"), type: "month" },
    ...(units.length > 1 ? [{ name: "branch_id", label: t("kpi.branch"), type: "select", options: units.map((u) => [u.id, u.name]) }] : []),
  ], { ...query, month }, (vals) => ctx.go("kpis", [], vals));
  const publish = h("button", { class: "btn primary", id: "publish-kpis", onclick: async () => {
    clear(msg);
    try { await download("/v1/reports/manager-kpis", { ...q, format: "csv" }, `manager-kpis-${month}.csv`); } catch (err) { clear(msg, errorBox(err, t("kpi.publish"))); }
  } }, t("kpi.publish"));
  const trendEl = h("div", { class: "card", id: "kpi-trend" }, loading());
  clear(el, page(t("nav.kpis"), { subtitle: t("kpi.subtitle"), actions: [publish] },
    msg, bar,
    card(t("kpi.table_title", { month: fmt.month(month) }),
      table([
        { key: "rank_in_branch", label: t("kpi.rank"), class: "num", render: (r) => fmt.int(r.rank_in_branch) },
        { key: "manager", label: t("kpi.manager"), render: (r) => h("span", {}, r.full_name, " ", h("code", {}, r.username)) },
        { key: "branch", label: t("kpi.branch") },
        { key: "assigned", label: t("kpi.assigned"), class: "num", render: (r) => fmt.int(r.assigned) },
        ...KPIS.map(([code, w]) => ({ key: code, label: `${t(`enum.kpi.${code}`)} ${"★".repeat(w)}`, class: "num", render: (r) => fmt.pct(r.ind[code], 0) })),
        { key: "score", label: t("kpi.score"), class: "num", render: (r) => h("strong", {}, fmt.num(r.score, 1)) },
      ], rows, { empty: t("kpi.none"), cls: "wrap-head" }),
      h("p", { class: "help" }, t("kpi.score_help"))),
    h("div", { class: "grid" },
      card(t("kpi.scores"), hbars({ title: null, data: rows.map((r) => ({ label: r.full_name, value: Number(r.score || 0) })), format: (v) => fmt.num(v, 1) })),
      trendEl),
    card(t("kpi.library"), table([
      { key: "n", label: t("kpi.no"), class: "num" },
      { key: "code", label: t("kpi.indicator"), render: (r) => label("kpi", r.code) },
      { key: "w", label: t("kpi.importance"), render: (r) => stars(r.w) },
      { key: "how", label: t("kpi.how"), class: "wrap", render: (r) => t(`kpi.how.${r.code}`) },
    ], KPIS.map(([code, w], i) => ({ n: i + 1, code, w }))), h("p", { class: "help" }, t("kpi.publication_help")))));
  drawTrend(trendEl, month, query.branch_id);
}

// The average score over the six months up to `month`.
async function drawTrend(el, month, branchId) {
  const [y, m] = month.split("-").map(Number);
  const months = [...Array(6).keys()].map((i) => new Date(Date.UTC(y, m - 6 + i, 1)).toISOString().slice(0, 7));
  try {
    const avgs = await Promise.all(months.map(async (mm) => {
      const rows = listOf(await get("/v1/reports/manager-kpis", { month: mm, branch_id: branchId }));
      const scored = rows.filter((r) => r.score !== null && r.score !== undefined);
      return scored.length ? scored.reduce((a, r) => a + Number(r.score), 0) / scored.length : null;
    }));
    clear(el, h("h2", {}, t("kpi.trend")), lines({ title: null, labels: months.map((mm) => fmt.monthAxis(mm)), series: [{ name: t("kpi.avg_score"), values: avgs }], format: (v) => fmt.num(v, 1) }));
  } catch (err) {
    clear(el, h("h2", {}, t("kpi.trend")), errorBox(err, t("kpi.trend")));
  }
}
