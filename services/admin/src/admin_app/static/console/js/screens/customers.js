// Customer list with filters, and the 360° page (#/customers/<id>). Personal data arrives masked;
// "Unmask" asks the API again with ?unmask=true, which only an admin may do and which writes an
// audit row for the view. API: GET /v1/customers (q, tier, branch_id), GET /v1/customers/{id}.

import { get, listOf } from "../api.js";
import { lines } from "../charts.js";
import {
  TIERS, TIER_LABEL, attempt, badge, card, clear, errorBox, filters, fmt, h, kv, loading, notice, page, pagedTable,
  statusBadge, table,
} from "../ui.js";

const LIST = "/v1/customers";

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderOne(el, args[0], ctx);
  return renderList(el, query, ctx);
}

function riskBadge(level) {
  return level ? badge(level, { high: "bad", medium: "warn", low: "ok" }[level] || "") : badge("not scored", "muted");
}

async function renderList(el, query, ctx) {
  let units = [];
  try { units = listOf(await get("/v1/org-units", { kind: "branch" })); } catch (e) { units = []; }
  const branchName = Object.fromEntries(units.map((u) => [u.id, u.name]));
  const columns = [
    { key: "id", label: "ID", class: "num", render: (r) => h("a", { href: `#/customers/${r.id}` }, String(r.id)) },
    { key: "name", label: "Name", render: (r) => h("a", { href: `#/customers/${r.id}` }, r.name || "—") },
    { key: "phone", label: "Phone", render: (r) => h("span", { class: "mono" }, r.phone || "—") },
    { key: "tier", label: "Tier", render: (r) => TIER_LABEL[r.tier] || r.tier || "—" },
    { key: "branch", label: "Branch", render: (r) => fmt.text(branchName[r.branch_id] ?? r.branch_id) },
    { key: "join_date", label: "Joined", class: "nowrap", render: (r) => fmt.date(r.join_date) },
    { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
  ];
  const q = { q: query.q, tier: query.tier, branch_id: query.branch_id };
  const listEl = pagedTable(columns, (paging) => get(LIST, { ...q, ...paging }),
    { what: "Customer list", empty: "No customers match these filters.", onRow: (r) => ctx.go("customers", [r.id]) });
  const bar = filters([
    { name: "q", label: "Phone, last 4 digits, id or name", placeholder: "e.g. 9001 or 13900009001" },
    { name: "tier", label: "Tier", type: "select", options: TIERS },
    ...(units.length > 1 ? [{ name: "branch_id", label: "Branch", type: "select", options: units.map((u) => [u.id, u.name]) }] : []),
  ], query, (vals) => ctx.go("customers", [], vals));
  clear(el, page("Customers", { subtitle: "Stock customers. Personal data is masked; open a customer for the 360° view." }, bar, listEl));
}

async function renderOne(el, id, ctx, unmask = false) {
  clear(el, loading());
  const c = await attempt(el, "Customer 360°", () => get(`${LIST}/${encodeURIComponent(id)}`, unmask ? { unmask: true } : {}));
  if (!c) return;
  const profile = c.profile || {};
  const tags = c.tags || [];
  const usage = c.usage_trend || [];
  const unmaskMsg = h("div");
  const unmaskBtn = ctx.can("unmask") && !c.unmasked
    ? h("button", { class: "btn", id: "unmask", onclick: async () => {
      if (!window.confirm("Unmasking is recorded in the audit log with your name. Continue?")) return;
      try {
        await renderOne(el, id, ctx, true);
      } catch (err) {
        clear(unmaskMsg, errorBox(err, "Unmasking"));
      }
    } }, "Unmask personal data")
    : null;

  const identity = kv([
    ["Name", h("span", { class: "pii-name" }, fmt.text(c.name))],
    ["Phone", h("span", { class: "mono pii-phone" }, fmt.text(c.phone))],
    ["ID number", h("span", { class: "mono pii-id" }, fmt.text(c.id_number))],
    ["Gender", fmt.text(c.gender)],
    ["Birthday", c.unmasked ? fmt.date(c.birthday) : "(masked)"],
    ["Email", fmt.text(c.email)],
    ["Address", fmt.text(c.address)],
    ["Joined", `${fmt.date(c.join_date)} (${fmt.int(c.tenure_months)} months)`],
    ["Status", h("span", {}, statusBadge(c.status), c.churned_on ? ` since ${fmt.date(c.churned_on)}` : "")],
    ["Tier", TIER_LABEL[c.tier] || fmt.text(c.tier)],
    ["Branch", fmt.text(c.branch?.name)],
    ["Plan", c.plan ? `${c.plan.name} (${fmt.fen(c.plan.monthly_fee_fen)}/month)` : "—"],
    ["Contract end", fmt.date(c.contract_end)],
    ["Do not disturb", statusBadge(Boolean(c.do_not_disturb))],
    ["Handset", c.handset ? `${c.handset.brand} ${c.handset.model || ""} · ${c.handset.price_band}${c.handset.dual_sim ? " · dual SIM" : ""}` : "—"],
  ]);

  const factors = profile.top_factors || [];
  const fourHigh = profile.four_high || [];
  const manager = c.manager;
  const profileCard = card("Profile (nightly engine)",
    kv([
      ["Lifecycle stage", fmt.text(profile.lifecycle_stage)],
      ["Segment", `${fmt.text(profile.segment)}${profile.sub_segment ? ` / ${profile.sub_segment}` : ""}`],
      ["Churn risk", h("span", {}, riskBadge(profile.risk_level), " score ", fmt.num(profile.churn_score, 3))],
      ["Warning coefficient", fmt.num(profile.warning_coefficient, 2)],
      ["Four-high", fourHigh.length ? h("span", { class: "tagchips" }, fourHigh.map((k) => badge(typeof k === "string" ? k : k.kind, "warn"))) : "none"],
      ["Preferred channel", fmt.text(profile.preferred_channel)],
      ["ARPU", fmt.fen(profile.arpu_fen)],
      ["Account manager", manager ? `${manager.full_name} (${manager.username})` : "—"],
    ]),
    factors.length ? h("h3", {}, "Top churn factors") : null,
    factors.length ? table([
      { key: "factor", label: "Factor", render: (r) => h("code", {}, r.factor) },
      { key: "value", label: "Value", class: "num", render: (r) => fmt.text(r.value) },
      { key: "weight", label: "Weight", class: "num", render: (r) => fmt.num(r.weight, 3) },
    ], factors) : null);

  const tagCard = card(`Tags (${tags.length})`, tags.length
    ? h("div", { class: "tagchips" }, tags.map((t) => h("span", { title: `${t.code} · ${t.family}` }, badge(t.name || t.code, familyKind(t.family)))))
    : h("p", { class: "muted" }, "No tags yet."));

  const months = [...usage].sort((a, b) => String(a.month).localeCompare(String(b.month)));
  const labels = months.map((m) => String(m.month).slice(0, 7));
  const usageCard = card("Usage and bill by month",
    months.length ? h("div", { class: "cols" },
      lines({ title: "Bill (¥)", labels, series: [{ name: "bill", values: months.map((m) => (m.bill_fen ?? 0) / 100) }], format: (v) => `¥${v.toFixed(0)}` }),
      lines({ title: "Data (GB) and voice (100 min)", labels,
        series: [{ name: "data GB", values: months.map((m) => +((m.data_mb ?? 0) / 1024).toFixed(2)) }, { name: "voice, 100 min", values: months.map((m) => (m.voice_min ?? 0) / 100) }] }))
      : h("p", { class: "muted" }, "No usage loaded for this customer."));

  const extra = [];
  const section = (title, rows, columns) => {
    if (rows && rows.length) extra.push(card(`${title} (${rows.length})`, table(columns, rows)));
  };
  section("Subscriptions", c.subscriptions, [
    { key: "product", label: "Product" }, { key: "kind", label: "Kind" },
    { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
    { key: "starts_on", label: "From", class: "nowrap", render: (r) => fmt.date(r.starts_on) }, { key: "ends_on", label: "To", class: "nowrap", render: (r) => fmt.date(r.ends_on) },
  ]);
  section("Contacts", c.touches, [
    { key: "occurred_at", label: "When", class: "nowrap", render: (r) => fmt.time(r.occurred_at) }, { key: "channel", label: "Channel" },
    { key: "outcome", label: "Outcome" }, { key: "campaign_id", label: "Campaign", render: (r) => (r.campaign_id ? h("a", { href: `#/campaigns/${r.campaign_id}` }, `#${r.campaign_id}`) : "—") },
    { key: "cost_fen", label: "Cost", class: "num", render: (r) => fmt.fen(r.cost_fen) },
  ]);
  section("Care tasks", c.tasks, [
    { key: "due_on", label: "Due", class: "nowrap", render: (r) => fmt.date(r.due_on) }, { key: "kind", label: "Kind" },
    { key: "reason", label: "Reason", class: "wrap" }, { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
    { key: "outcome", label: "Outcome" },
  ]);
  section("Complaints", c.complaints, [
    { key: "occurred_at", label: "When", class: "nowrap", render: (r) => fmt.time(r.occurred_at) }, { key: "category", label: "Category" },
    { key: "channel", label: "Channel" }, { key: "resolved", label: "Resolved", render: (r) => statusBadge(r.resolved) },
    { key: "satisfaction", label: "Satisfaction", class: "num" },
  ]);

  clear(el, page(`Customer ${c.id}`, {
    subtitle: "Unified customer view: identity, profile, tags, usage, contacts.",
    actions: [h("a", { class: "btn", href: "#/customers" }, "‹ Back to list"), unmaskBtn],
  },
  unmaskMsg,
  c.unmasked ? notice("info", "Shown unmasked. This view was written to the audit log.") : null,
  h("div", { class: "cols" }, card("Identity", identity), profileCard),
  tagCard, usageCard, ...extra));
}

function familyKind(family) {
  return { stability: "warn", preference: "info", channel: "ok" }[family] || "";
}
