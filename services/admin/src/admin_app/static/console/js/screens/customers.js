// Customer list with filters, and the 360° page (#/customers/<id>). Personal data arrives masked;
// "Unmask" asks the API again with ?unmask=true, which only an admin may do and which writes an
// audit row for the view. API: GET /v1/customers (q, tier, branch_id), GET /v1/customers/{id}.

import { get, listOf } from "../api.js";
import { lines } from "../charts.js";
import {
  TIER_CODES, attempt, badge, card, clear, errorBox, filters, fmt, h, kv, label, labelOr, loading, notice, options, page,
  pagedTable, statusBadge, t, table,
} from "../ui.js";

const LIST = "/v1/customers";

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderOne(el, args[0], ctx);
  return renderList(el, query, ctx);
}

export function riskBadge(level) {
  return level ? badge(label("risk", level), { high: "bad", medium: "warn", low: "ok" }[level] || "") : badge(label("risk", "unscored"), "muted");
}

async function renderList(el, query, ctx) {
  let units = [];
  try { units = listOf(await get("/v1/org-units", { kind: "branch" })); } catch (e) { units = []; }
  const branchName = Object.fromEntries(units.map((u) => [u.id, u.name]));
  const columns = [
    { key: "id", label: t("cust.id"), class: "num", render: (r) => h("a", { href: `#/customers/${r.id}` }, String(r.id)) },
    { key: "name", label: t("cust.name"), render: (r) => h("a", { href: `#/customers/${r.id}` }, r.name || "—") },
    { key: "phone", label: t("cust.phone"), render: (r) => h("span", { class: "mono" }, r.phone || "—") },
    { key: "tier", label: t("cust.tier"), render: (r) => label("tier", r.tier) },
    { key: "branch", label: t("cust.branch"), render: (r) => fmt.text(branchName[r.branch_id] ?? r.branch_id) },
    { key: "join_date", label: t("cust.joined"), class: "nowrap", render: (r) => fmt.date(r.join_date) },
    { key: "status", label: t("cust.status"), render: (r) => statusBadge(r.status) },
  ];
  const q = { q: query.q, tier: query.tier, branch_id: query.branch_id };
  const listEl = pagedTable(columns, (paging) => get(LIST, { ...q, ...paging }),
    { what: t("cust.list"), empty: t("cust.none_match"), onRow: (r) => ctx.go("customers", [r.id]) });
  const bar = filters([
    { name: "q", label: t("cust.search"), placeholder: t("cust.search_eg") },
    { name: "tier", label: t("cust.tier"), type: "select", options: options("tier", TIER_CODES) },
    ...(units.length > 1 ? [{ name: "branch_id", label: t("cust.branch"), type: "select", options: units.map((u) => [u.id, u.name]) }] : []),
  ], query, (vals) => ctx.go("customers", [], vals));
  clear(el, page(t("nav.customers"), { subtitle: t("cust.subtitle") }, bar, listEl));
}

async function renderOne(el, id, ctx, unmask = false) {
  clear(el, loading());
  const c = await attempt(el, t("cust.view360"), () => get(`${LIST}/${encodeURIComponent(id)}`, unmask ? { unmask: true } : {}));
  if (!c) return;
  const profile = c.profile || {};
  const tags = c.tags || [];
  const usage = c.usage_trend || [];
  const unmaskMsg = h("div");
  const unmaskBtn = ctx.can("unmask") && !c.unmasked
    ? h("button", { class: "btn", id: "unmask", onclick: async () => {
      if (!window.confirm(t("cust.unmask_confirm"))) return;
      try {
        await renderOne(el, id, ctx, true);
      } catch (err) {
        clear(unmaskMsg, errorBox(err, t("cust.unmasking")));
      }
    } }, t("cust.unmask"))
    : null;

  const hs = c.handset;
  const identity = kv([
    [t("cust.name"), h("span", { class: "pii-name" }, fmt.text(c.name))],
    [t("cust.phone"), h("span", { class: "mono pii-phone" }, fmt.text(c.phone))],
    [t("cust.id_number"), h("span", { class: "mono pii-id" }, fmt.text(c.id_number))],
    [t("cust.gender"), labelOr("gender", c.gender)],
    [t("cust.birthday"), c.unmasked ? fmt.date(c.birthday) : t("cust.masked")],
    [t("cust.email"), fmt.text(c.email)],
    [t("cust.address"), fmt.text(c.address)],
    [t("cust.joined"), t("cust.joined_tenure", { date: fmt.date(c.join_date), months: t("unit.months", { count: c.tenure_months ?? 0 }) })],
    [t("cust.status"), h("span", {}, statusBadge(c.status), c.churned_on ? ` ${t("cust.since", { date: fmt.date(c.churned_on) })}` : "")],
    [t("cust.tier"), label("tier", c.tier)],
    [t("cust.branch"), fmt.text(c.branch?.name)],
    [t("cust.plan"), c.plan ? `${c.plan.name} (${t("unit.per_month", { v: fmt.fen(c.plan.monthly_fee_fen) })})` : "—"],
    [t("cust.contract_end"), fmt.date(c.contract_end)],
    [t("cust.dnd"), statusBadge(Boolean(c.do_not_disturb))],
    [t("cust.handset"), hs ? `${hs.brand} ${hs.model || ""} · ${hs.price_band}${hs.dual_sim ? ` · ${t("cust.dual_sim")}` : ""}` : "—"],
  ]);

  const factors = profile.top_factors || [];
  const fourHigh = profile.four_high || [];
  const manager = c.manager;
  const profileCard = card(t("cust.profile"),
    kv([
      [t("cust.stage"), label("stage", profile.lifecycle_stage)],
      [t("cust.segment"), `${label("segment", profile.segment)}${profile.sub_segment ? ` / ${label("sub_segment", profile.sub_segment)}` : ""}`],
      [t("cust.risk"), h("span", {}, riskBadge(profile.risk_level), " ", t("cust.score", { score: fmt.num(profile.churn_score, 3) }))],
      [t("cust.warning"), fmt.num(profile.warning_coefficient, 2)],
      [t("cust.four_high"), fourHigh.length
        ? h("span", { class: "tagchips" }, fourHigh.map((k) => badge(label("four_high", typeof k === "string" ? k : k.kind), "warn")))
        : t("cust.none")],
      [t("cust.channel"), label("channel", profile.preferred_channel)],
      ["ARPU", fmt.fen(profile.arpu_fen)],
      [t("cust.manager"), manager ? `${manager.full_name} (${manager.username})` : "—"],
    ]),
    factors.length ? h("h3", {}, t("cust.top_factors")) : null,
    factors.length ? table([
      { key: "factor", label: t("cust.factor"), render: (r) => h("span", { title: r.factor }, labelOr("field", r.factor)) },
      { key: "value", label: t("cust.value"), class: "num", render: (r) => fmt.text(r.value) },
      { key: "weight", label: t("cust.weight"), class: "num", render: (r) => fmt.num(r.weight, 3) },
    ], factors) : null);

  const tagCard = card(t("cust.tags", { n: tags.length }), tags.length
    ? h("div", { class: "tagchips" }, tags.map((tag) => h("span", { title: `${tag.code} · ${label("family", tag.family)}` }, badge(tag.name || tag.code, familyKind(tag.family)))))
    : h("p", { class: "muted" }, t("cust.no_tags")));

  const months = [...usage].sort((a, b) => String(a.month).localeCompare(String(b.month)));
  const labels = months.map((m) => fmt.monthAxis(m.month));
  const usageCard = card(t("cust.usage"),
    months.length ? h("div", { class: "cols" },
      lines({ title: t("cust.bill_chart"), labels, series: [{ name: t("cust.bill"), values: months.map((m) => (m.bill_fen ?? 0) / 100) }], format: (v) => fmt.yuan(v) }),
      lines({ title: t("cust.data_voice_chart"), labels,
        series: [{ name: t("cust.data_gb"), values: months.map((m) => +((m.data_mb ?? 0) / 1024).toFixed(2)) },
          { name: t("cust.voice_100"), values: months.map((m) => (m.voice_min ?? 0) / 100) }] }))
      : h("p", { class: "muted" }, t("cust.no_usage")));

  const extra = [];
  const section = (title, rows, columns) => {
    if (rows && rows.length) extra.push(card(t("cust.section", { title, n: rows.length }), table(columns, rows)));
  };
  section(t("cust.subscriptions"), c.subscriptions, [
    { key: "product", label: t("cust.product") },
    { key: "kind", label: t("cust.kind"), render: (r) => labelOr("product_kind", r.kind) },
    { key: "status", label: t("cust.status"), render: (r) => statusBadge(r.status) },
    { key: "starts_on", label: t("cust.from"), class: "nowrap", render: (r) => fmt.date(r.starts_on) },
    { key: "ends_on", label: t("cust.to"), class: "nowrap", render: (r) => fmt.date(r.ends_on) },
  ]);
  section(t("cust.contacts"), c.touches, [
    { key: "occurred_at", label: t("cust.when"), class: "nowrap", render: (r) => fmt.time(r.occurred_at) },
    { key: "channel", label: t("cust.channel_col"), render: (r) => labelOr("channel", r.channel) },
    { key: "outcome", label: t("cust.outcome"), render: (r) => labelOr("outcome", r.outcome) },
    { key: "campaign_id", label: t("cust.campaign"), render: (r) => (r.campaign_id ? h("a", { href: `#/campaigns/${r.campaign_id}` }, `#${r.campaign_id}`) : "—") },
    { key: "cost_fen", label: t("cust.cost"), class: "num", render: (r) => fmt.fen(r.cost_fen) },
  ]);
  section(t("cust.tasks"), c.tasks, [
    { key: "due_on", label: t("cust.due"), class: "nowrap", render: (r) => fmt.date(r.due_on) },
    { key: "kind", label: t("cust.kind"), render: (r) => label("task_kind", r.kind) },
    { key: "reason", label: t("cust.reason"), class: "wrap" },
    { key: "status", label: t("cust.status"), render: (r) => statusBadge(r.status) },
    { key: "outcome", label: t("cust.outcome"), render: (r) => labelOr("outcome", r.outcome) },
  ]);
  section(t("cust.complaints"), c.complaints, [
    { key: "occurred_at", label: t("cust.when"), class: "nowrap", render: (r) => fmt.time(r.occurred_at) },
    { key: "category", label: t("cust.category"), render: (r) => labelOr("category", r.category) },
    { key: "channel", label: t("cust.channel_col"), render: (r) => labelOr("channel", r.channel) },
    { key: "resolved", label: t("cust.resolved"), render: (r) => statusBadge(r.resolved) },
    { key: "satisfaction", label: t("cust.satisfaction"), class: "num" },
  ]);

  clear(el, page(t("cust.title", { id: c.id }), {
    subtitle: t("cust.subtitle360"),
    actions: [h("a", { class: "btn", href: "#/customers" }, t("cust.back")), unmaskBtn],
  },
  unmaskMsg,
  c.unmasked ? notice("info", t("cust.unmasked_note")) : null,
  h("div", { class: "cols" }, card(t("cust.identity"), identity), profileCard),
  tagCard, usageCard, ...extra));
}

function familyKind(family) {
  return { stability: "warn", preference: "info", channel: "ok" }[family] || "";
}
