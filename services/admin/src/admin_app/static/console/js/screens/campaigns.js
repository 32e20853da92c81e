// Campaigns: list, create (audience + strategy + hold-out share), launch, and the report that
// compares members with the hold-out group (uplift with a confidence interval), CSV export.

import { ApiError, download, get, listOf, post } from "../api.js";
import { audienceBuilder, audienceSummary } from "../audience.js";
import { PALETTE, donut, intervals, lines } from "../charts.js";
import {
  attempt, card, clear, errorBox, fmt, form, h, kv, label, loading, notice, options, page, pagedTable, pick, statusBadge, t,
  table,
} from "../ui.js";

const BASE = "/v1/campaigns";
const CHANNELS = ["app_push", "app", "sms", "outbound_call", "manager_call", "manager_visit"];
const FLOWS = ["app", "manager_task", "outbound"];
const STATUSES = ["draft", "scheduled", "running", "finished", "cancelled"];

export async function render(el, { args, query, ctx }) {
  if (args[0] === "new") return renderCreate(el, ctx);
  if (args[0]) return renderOne(el, args[0], ctx);
  return renderList(el, query, ctx);
}

function renderList(el, query, ctx) {
  const started = (r) => r.status !== "draft" && r.status !== "scheduled";
  const columns = [
    { key: "id", label: t("camp.id"), class: "num" },
    { key: "name", label: t("camp.name"), render: (r) => h("a", { href: `#/campaigns/${r.id}` }, r.name) },
    { key: "status", label: t("camp.status"), render: (r) => statusBadge(r.status) },
    { key: "channel", label: t("camp.channel"), render: (r) => label("channel", r.channel) },
    { key: "flow", label: t("camp.flow"), render: (r) => label("flow", r.flow) },
    { key: "holdout_pct", label: t("camp.holdout"), class: "num", render: (r) => (r.holdout_pct !== undefined ? fmt.pct(r.holdout_pct / 100, 0) : "—") },
    { key: "members", label: t("camp.members"), class: "num", render: (r) => (started(r) ? fmt.int(r.members) : "—") },
    { key: "holdout_members", label: t("camp.held_out"), class: "num", render: (r) => (started(r) ? fmt.int(r.holdout_members) : "—") },
    { key: "starts_on", label: t("camp.runs"), class: "nowrap", render: (r) => `${fmt.date(r.starts_on)} → ${fmt.date(r.ends_on)}` },
  ];
  const statusFilter = h("select", { id: "status-filter", "aria-label": t("camp.status"), onchange: (ev) => ctx.go("campaigns", [], { status: ev.target.value }) },
    [["", t("camp.any_status")], ...options("status", STATUSES)].map(([v, l]) => h("option", { value: v, selected: v === (query.status || "") }, l)));
  const list = pagedTable(columns, (paging) => get(BASE, { status: query.status, ...paging }),
    { what: t("camp.list"), empty: t("camp.none"), onRow: (r) => ctx.go("campaigns", [r.id]) });
  const actions = [statusFilter, ctx.can("editCampaign") ? h("a", { class: "btn primary", href: "#/campaigns/new", id: "new-campaign" }, t("camp.new")) : null];
  clear(el, page(t("nav.campaigns"), { subtitle: t("camp.subtitle"), actions }, list));
}

async function renderCreate(el, ctx) {
  clear(el, loading());
  let strategies = [];
  try {
    strategies = listOf(await get("/v1/strategies", { limit: 100 }));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
  }
  const today = new Date();
  const iso = (d) => d.toISOString().slice(0, 10);
  const inMonth = new Date(today.getTime() + 30 * 86400000);
  const preview = h("div", { class: "preview", id: "audience-preview" });
  const audience = await audienceBuilder({ risk_levels: ["high"], tiers: ["star4", "star5", "gold", "diamond"], exclude_do_not_disturb: true });
  const frm = form([
    { name: "name", label: t("camp.name"), required: true, placeholder: t("camp.name_eg") },
    { name: "strategy_id", label: t("camp.strategy"), type: "select",
      options: [["", strategies.length ? t("ui.none") : t("camp.no_strategies")], ...strategies.map((st) => [st.id, `${st.name}${st.channel ? ` (${label("channel", st.channel)})` : ""}`])] },
    { name: "flow", label: t("camp.who_acts"), type: "select", options: options("flow", FLOWS) },
    { name: "channel", label: t("camp.channel"), type: "select", options: options("channel", CHANNELS), value: "app_push" },
    { name: "holdout_pct", label: t("camp.holdout_share"), type: "number", min: 0, max: 50, value: 10, required: true, help: t("camp.holdout_help") },
    { name: "cost_per_touch_fen", label: t("camp.cost_per_touch"), type: "number", min: 0, max: 1000000, value: 0 },
    { name: "starts_on", label: t("camp.starts_on"), type: "date", value: iso(today), required: true },
    { name: "ends_on", label: t("camp.ends_on"), type: "date", value: iso(inMonth), required: true },
  ], {
    submit: t("camp.create"),
    cancel: () => ctx.go("campaigns"),
    onSubmit: async (vals) => {
      const body = { ...vals, query: audience.value() };
      body.strategy_id = body.strategy_id ? Number(body.strategy_id) : null;
      const created = await post(BASE, body);
      ctx.go("campaigns", [created.id]);
    },
  });
  const count = async () => {
    const r = await post(`${BASE}/preview`, { query: audience.value(), holdout_pct: Number(frm.controls.holdout_pct.input.value || 0) });
    return t("camp.preview", { count: pick(r, "audience", "count"), held: fmt.int(pick(r, "expected_holdout", "holdout")) });
  };
  audience.onCount(count);
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-audience", onclick: async () => {
    clear(preview, loading(t("ui.counting")));
    try {
      clear(preview, notice("info", await count()));
    } catch (err) {
      clear(preview, errorBox(err, t("camp.preview_what")));
    }
  } }, t("camp.preview_btn"));
  clear(el, page(t("camp.new"), { subtitle: t("camp.new_subtitle") },
    card(t("camp.audience"), audience.el, h("div", { class: "actions" }, previewBtn), preview),
    card(t("camp.offer_schedule"), frm)));
}

async function renderOne(el, id, ctx) {
  clear(el, loading());
  const c = await attempt(el, t("camp.one"), () => get(`${BASE}/${encodeURIComponent(id)}`));
  if (!c) return;
  const camp = c.campaign || c;
  let strategyName = camp.strategy_id ? `#${camp.strategy_id}` : "—";
  if (camp.strategy_id) {
    try { strategyName = (await get(`/v1/strategies/${camp.strategy_id}`)).name || strategyName; } catch (e) { /* the id will do */ }
  }
  const actionMsg = h("div");
  const actions = [h("a", { class: "btn", href: "#/campaigns" }, t("camp.all"))];
  const act = (key, path, { primary = false, confirm, id: btnId } = {}) => h("button", { class: `btn ${primary ? "primary" : ""}`, id: btnId, onclick: async (ev) => {
    if (confirm && !window.confirm(confirm)) return;
    ev.target.disabled = true;
    clear(actionMsg, loading(t("camp.doing", { action: t(key) })));
    try {
      const r = await post(`${BASE}/${camp.id}/${path}`, {});
      await renderOne(el, id, ctx);
      if (path === "launch") {
        const text = t("camp.launched", { members: fmt.int(r.members), holdout: fmt.int(r.holdout), treated: fmt.int(r.treated) });
        el.prepend(notice("ok", r.suppressed ? `${text} ${t("camp.suppressed", { n: fmt.int(r.suppressed) })}` : text));
      }
      if (path === "dispatch") el.prepend(notice("ok", t("camp.dispatched", { sent: fmt.int(r.sent), failed: fmt.int(r.failed) })));
    } catch (err) {
      clear(actionMsg, errorBox(err, t(key)));
      ev.target.disabled = false;
    }
  } }, t(key));
  if (ctx.can("launchCampaign")) {
    if (["draft", "scheduled"].includes(camp.status)) {
      actions.push(act("camp.launch", "launch", { primary: true, id: "launch", confirm: t("camp.launch_confirm", { name: camp.name, pct: camp.holdout_pct }) }));
    }
    if (camp.status === "draft") actions.push(act("camp.schedule", "schedule", { id: "schedule" }));
    if (["draft", "scheduled"].includes(camp.status)) actions.push(act("camp.cancel", "cancel", { id: "cancel", confirm: t("camp.cancel_confirm") }));
    if (camp.status === "running" && camp.flow === "outbound") actions.push(act("camp.dispatch", "dispatch", { id: "dispatch" }));
    if (camp.status === "running") actions.push(act("camp.finish", "finish", { id: "finish", confirm: t("camp.finish_confirm") }));
  }
  if (ctx.can("readReports")) {
    actions.push(h("button", { class: "btn", id: "export-csv", onclick: async () => {
      clear(actionMsg);
      try {
        await download(`/v1/reports/campaigns/${camp.id}`, { format: "csv" }, `campaign-${camp.id}-report.csv`);
      } catch (err) {
        clear(actionMsg, errorBox(err, t("ui.csv_export")));
      }
    } }, t("ui.export_csv")));
  }

  const reportEl = h("div", {}, loading(t("camp.loading_report")));
  clear(el, page(camp.name || t("camp.title", { id }), { subtitle: t("camp.subtitle_one", { id: camp.id, status: label("status", camp.status) }), actions },
    actionMsg,
    h("div", { class: "cols" },
      card(t("camp.setup"), kv([
        [t("camp.status"), statusBadge(camp.status)],
        [t("camp.strategy_short"), strategyName],
        [t("camp.channel_flow"), `${label("channel", camp.channel)} / ${label("flow", camp.flow)}`],
        [t("camp.runs"), `${fmt.date(camp.starts_on)} → ${fmt.date(camp.ends_on)}`],
        [t("camp.holdout_share_short"), camp.holdout_pct !== undefined ? fmt.pct(camp.holdout_pct / 100, 0) : "—"],
        [t("camp.cost_per_contact"), fmt.fen(camp.cost_per_touch_fen)],
      ]), h("h3", {}, t("camp.audience")), audienceSummary(camp.query ?? {}),
      h("details", {}, h("summary", {}, t("camp.query_json")), h("pre", {}, JSON.stringify(camp.query ?? {}, null, 2)))),
      card(t("camp.members"), membersView(c))),
    reportEl));
  if (ctx.can("readReports")) loadReport(reportEl, camp);
  else clear(reportEl);
}

function membersView(c) {
  const camp = c.campaign || c;
  const total = Number(camp.members || 0);
  const held = Number(camp.holdout_members || 0);
  const treated = total - held;
  if (!total) return h("p", { class: "muted" }, t("camp.members_later"));
  return donut({ title: null, data: [{ label: t("camp.contacted"), value: treated || 0, color: "#2f6fdf" }, { label: t("camp.holdout_group"), value: held || 0, color: "#b8c1d1" }] });
}

const pct = (v) => fmt.pct(v, 1);
const pp = (v) => fmt.pp(v);

// GET /v1/reports/campaigns/{id}: {summary, by_branch}; rows compare treated with hold-out.
async function loadReport(el, camp) {
  let r;
  try {
    r = await get(`/v1/reports/campaigns/${camp.id}`);
  } catch (err) {
    clear(el, card(t("camp.report"), errorBox(err, t("camp.report"))));
    return;
  }
  const s = r.summary;
  let branchName = {};
  try { branchName = Object.fromEntries(listOf(await get("/v1/org-units", { kind: "branch" })).map((u) => [String(u.id), u.name])); } catch (e) { branchName = {}; }
  if (!s) {
    clear(el, card(t("camp.report"), h("p", { class: "muted", id: "report-empty" }, t("camp.report_empty"))));
    return;
  }
  const has = (v) => v !== null && v !== undefined;
  const stat = (name, value, note) => h("div", { class: "stat" }, h("div", { class: "label" }, name),
    h("div", { class: `value${String(value).length > 9 ? " small" : ""}` }, value), note ? h("div", { class: "note" }, note) : null);
  const ciText = has(s.retention_uplift_ci_low) ? t("camp.ci", { lo: pp(s.retention_uplift_ci_low), hi: pp(s.retention_uplift_ci_high) }) : t("camp.no_ci");
  const arpuCi = has(s.arpu_uplift_ci_low_fen) ? t("camp.ci", { lo: fmt.fen(s.arpu_uplift_ci_low_fen), hi: fmt.fen(s.arpu_uplift_ci_high_fen) }) : t("camp.no_ci_bills");
  const rows = [];
  if (has(s.retention_uplift)) rows.push({ label: t("camp.retention_rate"), value: s.retention_uplift, lo: s.retention_uplift_ci_low, hi: s.retention_uplift_ci_high });
  const children = [
    h("div", { class: "stats", id: "report-stats" },
      stat(t("camp.members"), fmt.int(s.members), t("camp.split", { treated: fmt.int(s.treated), holdout: fmt.int(s.holdout) })),
      stat(t("camp.reached"), fmt.int(s.reached), t("camp.reach_rate", { v: pct(s.reach_rate) })),
      stat(t("camp.touches"), fmt.int(s.touches), t("camp.per_member", { v: fmt.num(s.touches_per_member, 2) })),
      stat(t("camp.touch_success"), pct(s.touch_success_rate), t("camp.off_on", { off: pct(s.offline_success_rate), on: pct(s.online_success_rate) })),
      stat(t("camp.accepted"), fmt.int(s.accepted), t("camp.acceptance", { v: pct(s.acceptance_rate) })),
      stat(t("camp.retention"), t("camp.vs", { a: pct(s.retention_treated), b: pct(s.retention_holdout) }), t("camp.contacted_vs_holdout")),
      stat(t("camp.retention_uplift"), pp(s.retention_uplift), ciText),
      stat(t("camp.arpu_uplift"), has(s.arpu_uplift_fen) ? fmt.fen(s.arpu_uplift_fen) : "—", arpuCi),
      stat(t("camp.cost"), fmt.fen(s.cost_fen), t("camp.per_retained", { v: fmt.fen(s.cost_per_retained_fen) })),
      stat(t("camp.cost_incremental"), fmt.fen(s.cost_per_incremental_retained_fen), t("camp.cost_incremental_note"))),
    h("div", { class: "cols" },
      intervals({ title: t("camp.uplift_chart"), rows, format: pp }),
      has(s.arpu_uplift_fen)
        ? intervals({ title: t("camp.arpu_chart"), rows: [{ label: t("camp.arpu_change"), value: s.arpu_uplift_fen / 100, lo: s.arpu_uplift_ci_low_fen === null ? null : s.arpu_uplift_ci_low_fen / 100, hi: s.arpu_uplift_ci_high_fen === null ? null : s.arpu_uplift_ci_high_fen / 100 }], format: (v) => fmt.fen(v * 100) })
        : h("div")),
  ];
  children.push(...measures(s));
  if ((r.by_branch || []).length) {
    children.push(h("h3", {}, t("camp.by_branch")), table([
      { key: "group", label: t("camp.branch"), render: (b) => branchName[b.group] ?? (b.group === "none" ? t("camp.no_branch") : `#${b.group}`) },
      { key: "members", label: t("camp.members"), class: "num", render: (b) => fmt.int(b.members) },
      { key: "holdout", label: t("camp.holdout_group"), class: "num", render: (b) => fmt.int(b.holdout) },
      { key: "touch_success_rate", label: t("camp.touch_success"), class: "num", render: (b) => pct(b.touch_success_rate) },
      { key: "retention_treated", label: t("camp.retention_contacted"), class: "num", render: (b) => pct(b.retention_treated) },
      { key: "retention_holdout", label: t("camp.retention_holdout"), class: "num", render: (b) => pct(b.retention_holdout) },
      { key: "retention_uplift", label: t("camp.uplift"), class: "num", render: (b) => pp(b.retention_uplift) },
      { key: "cost_fen", label: t("camp.cost"), class: "num", render: (b) => fmt.fen(b.cost_fen) },
    ], r.by_branch));
  }
  clear(el, card(t("camp.report_title"), ...children));
}

const WARNINGS = ["no_comparison", "post_period_too_short", "arm_too_small", "arm_too_small_arpu", "low_reach", "arms_differ_before_launch"];

// The measurement behind the headline: each arm (treated = everyone assigned to be contacted,
// intent-to-treat) with its Wilson 95 % interval, survival from launch, the difference-in-differences
// ARPU effect, the smallest effect these arms can detect, the report's warnings and the attribution rule.
function measures(s) {
  const has = (v) => v !== null && v !== undefined;
  const ci = (lo, hi, f) => (has(lo) && has(hi) ? t("camp.ci_short", { lo: f(lo), hi: f(hi) }) : "—");
  const arm = (key, name, n) => ({
    arm: name,
    members: n,
    at_risk: s[`at_risk_${key}`],
    retained: s[`retained_${key}`],
    retention: s[`retention_${key}`],
    ci: ci(s[`retention_${key}_ci_low`], s[`retention_${key}_ci_high`], pct),
    revenue_retention: s[`revenue_retention_${key}`],
    arpu_pre: s[`arpu_pre_${key}_fen`],
    arpu_post: s[`arpu_post_${key}_fen`],
    arpu_change: s[`arpu_change_${key}_fen`],
  });
  const arms = table([
    { key: "arm", label: t("camp.arm") },
    { key: "members", label: t("camp.members"), class: "num", render: (a) => fmt.int(a.members) },
    { key: "at_risk", label: t("camp.at_risk"), class: "num", render: (a) => fmt.int(a.at_risk) },
    { key: "retained", label: t("camp.retained"), class: "num", render: (a) => fmt.int(a.retained) },
    { key: "retention", label: t("camp.retention"), class: "num", render: (a) => pct(a.retention) },
    { key: "ci", label: t("camp.wilson_ci"), class: "num nowrap", render: (a) => a.ci },
    { key: "revenue_retention", label: t("camp.revenue_retention"), class: "num", render: (a) => pct(a.revenue_retention) },
    { key: "arpu", label: t("camp.arpu_before_after"), class: "num nowrap", render: (a) => `${fmt.fen(a.arpu_pre)} → ${fmt.fen(a.arpu_post)}` },
    { key: "arpu_change", label: t("camp.arpu_change"), class: "num", render: (a) => fmt.fen(a.arpu_change) },
  ], [arm("treated", t("camp.arm_treated"), s.treated), arm("holdout", t("camp.holdout_group"), s.holdout)]);
  const period = s.measured_from
    ? t("camp.measured", { from: fmt.date(s.measured_from), to: fmt.date(s.as_of), days: fmt.int(s.post_days), months: fmt.int(s.post_months) })
    : t("camp.not_launched");
  const survival = s.survival || [];
  const effect = h("div", { class: "stats", id: "report-effect" },
    stat2(t("camp.retention_uplift"), pp(s.retention_uplift), ci(s.retention_uplift_ci_low, s.retention_uplift_ci_high, pp)),
    stat2(t("camp.arpu_did"), fmt.fen(s.arpu_uplift_fen), ci(s.arpu_uplift_ci_low_fen, s.arpu_uplift_ci_high_fen, fmt.fen)),
    stat2(t("camp.mde_retention"), pp(s.mde_retention_uplift), t("camp.target", { v: pp(s.target_retention_uplift) })),
    stat2(t("camp.mde_arpu"), fmt.fen(s.mde_arpu_uplift_fen), t("camp.target", { v: fmt.fen(s.target_arpu_uplift_fen) })));
  const warnings = (s.warnings || []).length
    ? h("ul", { id: "report-warnings" }, ...s.warnings.map((w) => h("li", { title: w.detail, "data-code": w.code },
      WARNINGS.includes(w.code) ? label("report_warning", w.code) : w.detail)))
    : h("p", { class: "muted", id: "report-warnings" }, t("camp.no_warnings"));
  return [
    h("h3", {}, t("camp.arms_title")),
    h("p", { class: "help", id: "report-period" }, period),
    h("div", { id: "report-arms" }, arms),
    h("p", { class: "help" }, t("camp.itt_help")),
    survival.length
      ? lines({ title: t("camp.survival_title"), labels: survival.map((p) => t("camp.day_n", { n: p.day })), yMax: 1, format: (v) => fmt.pct(v, 0),
        series: [
          { name: t("camp.arm_treated"), values: survival.map((p) => p.treated), color: PALETTE[0] },
          { name: t("camp.holdout_group"), values: survival.map((p) => p.holdout), color: PALETTE[6] },
        ] })
      : null,
    h("h3", {}, t("camp.effect_title")),
    effect,
    h("p", { class: "help" }, t("camp.effect_help")),
    h("h3", {}, t("camp.warnings_title")),
    warnings,
    h("p", { class: "help", id: "report-attribution" }, t("camp.attribution", { days: fmt.int(s.attribution_window_days) })),
  ].filter(Boolean);
}

function stat2(name, value, note) {
  return h("div", { class: "stat" }, h("div", { class: "label" }, name), h("div", { class: "value" }, value), note ? h("div", { class: "note" }, note) : null);
}
