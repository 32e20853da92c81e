// Four-high lists (seed 004): customers flagged for high tariff, high pay-per-use data, high
// silence or a high ARPU for what they use, by day or by month, by kind, branch and care status;
// counts over time, the share of cared-for customers back to normal, and the thresholds.
// API: GET /v1/four-high/flags, /counts, /care-effect, GET/PUT /v1/four-high/thresholds.

import { get, listOf, put } from "../api.js";
import { PALETTE, lines } from "../charts.js";
import { TIME_ZONE } from "../i18n.js";
import {
  FOUR_HIGH_CODES, badge, card, clear, errorBox, filters, fmt, form, h, kv, label, loading, notice, options, page, pagedTable, t,
  tabs,
} from "../ui.js";

const CARE = ["to_care", "cared", "normalised"];
const MONEY_KINDS = new Set(["tariff", "payg_data", "arpu_mismatch"]);

function localToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE }).format(new Date()); // YYYY-MM-DD
}

function lastMonth() {
  const [y, m] = localToday().split("-").map(Number);
  const d = new Date(Date.UTC(y, m - 2, 1));
  return d.toISOString().slice(0, 7);
}

export function careBadge(row) {
  if (row.normalised_on) return badge(t("fh.care.normalised_on", { date: fmt.date(row.normalised_on) }), "ok");
  if (row.cared_at) return badge(t("fh.care.cared_on", { date: fmt.date(row.cared_at) }), "info");
  return badge(t("fh.care.to_care"), "warn");
}

export async function render(el, { query, ctx }) {
  const gran = query.g === "day" ? "day" : "month";
  const period = gran === "month" ? (query.period || lastMonth()) : (query.period || localToday());
  let units = [];
  try { units = listOf(await get("/v1/org-units", { kind: "branch" })); } catch (e) { units = []; }
  const branchName = Object.fromEntries(units.map((u) => [u.id, u.name]));
  const q = { granularity: gran, period: gran === "month" ? `${period}-01` : period, kind: query.kind, branch_id: query.branch_id, care: query.care };
  const list = pagedTable([
    { key: "customer_id", label: t("fh.customer"), class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "name", label: t("fh.name"), render: (r) => fmt.text(r.name) },
    { key: "phone", label: t("fh.phone"), render: (r) => h("span", { class: "mono" }, fmt.text(r.phone)) },
    { key: "branch", label: t("fh.branch"), render: (r) => fmt.text(branchName[r.branch_id] ?? r.branch_id) },
    { key: "kind", label: t("fh.kind"), render: (r) => badge(label("four_high", r.kind), "warn") },
    { key: "value", label: t("fh.value"), class: "num", render: (r) => (MONEY_KINDS.has(r.kind) ? fmt.fen(r.value) : fmt.pct(r.value, 0)) },
    { key: "care", label: t("fh.care"), render: (r) => careBadge(r) },
  ], (paging) => get("/v1/four-high/flags", { ...q, ...paging }), { what: t("nav.fourhigh"), empty: t("fh.none"), pageSize: 50 });
  const bar = filters([
    gran === "month"
      ? { name: "period", label: t("fh.month"), type: "month" }
      : { name: "period", label: t("fh.day"), type: "date" },
    { name: "kind", label: t("fh.kind"), type: "select", options: options("four_high", FOUR_HIGH_CODES) },
    ...(units.length ? [{ name: "branch_id", label: t("fh.branch"), type: "select", options: units.map((u) => [u.id, u.name]) }] : []),
    { name: "care", label: t("fh.care"), type: "select", options: CARE.map((c) => [c, t(`fh.care.${c}`)]) },
  ], { ...query, period }, (vals) => ctx.go("fourhigh", [], { g: gran, ...vals }));
  const trend = h("div", { class: "card", id: "fh-trend" }, loading());
  const effect = h("div", { class: "card", id: "fh-effect" }, loading());
  const thresholds = h("div", { id: "fh-thresholds" });
  clear(el, page(t("nav.fourhigh"), { subtitle: t("fh.subtitle") },
    tabs([["month", t("fh.tab.month")], ["day", t("fh.tab.day")]], gran, (id) => ctx.go("fourhigh", [], { g: id })),
    bar,
    card(gran === "month" ? t("fh.list_month", { month: fmt.month(period) }) : t("fh.list_day", { day: fmt.date(period) }), list),
    h("div", { class: "grid" }, trend, effect),
    thresholds));
  await Promise.all([drawTrend(trend, gran), drawEffect(effect, ctx), drawThresholds(thresholds, ctx)]);
}

async function drawTrend(el, gran) {
  try {
    const since = gran === "day" ? new Date(Date.now() - 30 * 86400000).toISOString().slice(0, 10) : undefined;
    const rows = listOf(await get("/v1/four-high/counts", { granularity: gran, since }));
    const periods = [...new Set(rows.map((r) => String(r.period)))].sort();
    const of = (k, p) => rows.filter((r) => r.kind === k && String(r.period) === p).reduce((a, r) => a + Number(r.n || 0), 0);
    clear(el, h("h2", {}, t("fh.trend")), lines({
      title: null, labels: periods.map((p) => (gran === "month" ? fmt.monthAxis(p) : fmt.date(p))),
      series: FOUR_HIGH_CODES.map((k, i) => ({ name: label("four_high", k), color: PALETTE[i + 2], values: periods.map((p) => of(k, p)) })),
      format: (v) => fmt.int(v),
    }));
  } catch (err) {
    clear(el, h("h2", {}, t("fh.trend")), errorBox(err, t("fh.trend")));
  }
}

async function drawEffect(el, ctx) {
  if (!ctx.can("readCareEffect")) { clear(el); return; }
  try {
    const data = await get("/v1/four-high/care-effect");
    const row = (k) => data[k] || { cared: 0, normalised: 0, share: null };
    clear(el, h("h2", {}, t("fh.effect")), h("p", { class: "help" }, t("fh.effect_help")),
      kv(["all", ...FOUR_HIGH_CODES].map((k) => [k === "all" ? t("fh.all_kinds") : label("four_high", k),
        t("fh.effect_row", { normalised: fmt.int(row(k).normalised), cared: fmt.int(row(k).cared), share: fmt.pct(row(k).share, 0) })])));
  } catch (err) {
    clear(el, h("h2", {}, t("fh.effect")), errorBox(err, t("fh.effect")));
  }
}

async function drawThresholds(el, ctx) {
  let current;
  try {
    current = await get("/v1/four-high/thresholds");
  } catch (err) {
    clear(el, card(t("fh.thresholds"), errorBox(err, t("fh.thresholds"))));
    return;
  }
  const keys = Object.keys(current);
  const fen = (k) => k.endsWith("_fen");
  const view = kv(keys.map((k) => [t(`enum.setting.four_high.${k}`), fen(k) ? fmt.fen(current[k]) : fmt.text(current[k])]));
  if (!ctx.can("editEngineSettings")) {
    clear(el, card(t("fh.thresholds"), view));
    return;
  }
  const frm = form(keys.map((k) => ({
    name: k, label: fen(k) ? t("fh.in_yuan", { label: t(`enum.setting.four_high.${k}`) }) : t(`enum.setting.four_high.${k}`),
    type: "number", min: 0, step: "any", value: fen(k) ? current[k] / 100 : current[k], required: true,
  })), {
    submit: t("fh.save_thresholds"),
    onSubmit: async (vals) => {
      const body = Object.fromEntries(keys.map((k) => [k, fen(k) ? Math.round(vals[k] * 100) : vals[k]]));
      await put("/v1/four-high/thresholds", body);
      await drawThresholds(el, ctx);
      el.prepend(notice("ok", t("fh.thresholds_saved")));
    },
  });
  clear(el, card(t("fh.thresholds"), h("p", { class: "help" }, t("fh.thresholds_help")), frm));
}
