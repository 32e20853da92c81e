// Campaigns: list, create (segment query + strategy + hold-out share), launch, and the report
// that compares members with the hold-out group (uplift with a confidence interval), CSV export.

import { ApiError, download, get, listOf, post } from "../api.js";
import { donut, intervals } from "../charts.js";
import {
  FOUR_HIGH, RISKS, TIERS, attempt, card, clear, errorBox, fmt, form, h, kv, loading, notice, page, pagedTable, pick,
  statusBadge, table,
} from "../ui.js";

const BASE = "/v1/campaigns";
const CHANNELS = [["app_push", "App push"], ["app", "In-app recommendation"], ["sms", "SMS"], ["outbound_call", "Outbound call"], ["manager_call", "Manager call"], ["manager_visit", "Manager visit"]];
const STAGES = [["exploration", "Exploration"], ["formation", "Formation"], ["stable", "Stable"], ["decline", "Decline"]];

export async function render(el, { args, query, ctx }) {
  if (args[0] === "new") return renderCreate(el, ctx);
  if (args[0]) return renderOne(el, args[0], ctx);
  return renderList(el, query, ctx);
}

function renderList(el, query, ctx) {
  const columns = [
    { key: "id", label: "ID", class: "num" },
    { key: "name", label: "Name", render: (r) => h("a", { href: `#/campaigns/${r.id}` }, r.name) },
    { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
    { key: "channel", label: "Channel" },
    { key: "flow", label: "Flow" },
    { key: "holdout_pct", label: "Hold-out", class: "num", render: (r) => (r.holdout_pct ?? r.holdout_percent) !== undefined ? `${r.holdout_pct ?? r.holdout_percent}%` : "—" },
    { key: "members", label: "Members", class: "num", render: (r) => (r.status === "draft" || r.status === "scheduled" ? "—" : fmt.int(r.members)) },
    { key: "holdout_members", label: "Held out", class: "num", render: (r) => (r.status === "draft" || r.status === "scheduled" ? "—" : fmt.int(r.holdout_members)) },
    { key: "starts_on", label: "Runs", class: "nowrap", render: (r) => `${fmt.date(r.starts_on)} → ${fmt.date(r.ends_on)}` },
  ];
  const statusFilter = h("select", { id: "status-filter", onchange: (ev) => ctx.go("campaigns", [], { status: ev.target.value }) },
    ["", "draft", "scheduled", "running", "finished", "cancelled"].map((v) => h("option", { value: v, selected: v === (query.status || "") }, v || "any status")));
  const list = pagedTable(columns, (paging) => get(BASE, { status: query.status, ...paging }),
    { what: "Campaign list", empty: "No campaigns yet.", onRow: (r) => ctx.go("campaigns", [r.id]) });
  const actions = [statusFilter, ctx.can("editCampaign") ? h("a", { class: "btn primary", href: "#/campaigns/new", id: "new-campaign" }, "New campaign") : null];
  clear(el, page("Campaigns", { subtitle: "Targeted campaigns with a hold-out group that receives nothing, so the report shows true uplift.", actions }, list));
}

// Audience builder: checkboxes and inputs that produce the API's audience query (AudienceQuery).
function checks(name, options, selected = []) {
  return h("div", { class: "checks", dataset: { name } }, options.map(([v, l]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: v, checked: selected.includes(v) }), ` ${l}`)));
}

function audienceBuilder(initial = {}) {
  const groups = {
    tiers: checks("tiers", TIERS, initial.tiers),
    risk_levels: checks("risk_levels", RISKS, initial.risk_levels),
    lifecycle_stages: checks("lifecycle_stages", STAGES, initial.lifecycle_stages),
    four_high: checks("four_high", FOUR_HIGH, initial.four_high),
  };
  const text = (name, placeholder) => h("input", { id: `q-${name}`, placeholder, value: (initial[name] || []).join(", ") });
  const inputs = {
    segments: text("segments", "e.g. potential_loss, value_loss"),
    tags: text("tags", "any of these tag codes"),
    tags_all: text("tags_all", "all of these tag codes"),
  };
  const minScore = h("input", { id: "q-min_churn_score", type: "number", min: 0, max: 1, step: "0.05", value: initial.min_churn_score ?? "" });
  const dnd = h("input", { id: "q-exclude_dnd", type: "checkbox", checked: initial.exclude_do_not_disturb ?? true });
  const json = h("pre", { class: "query-json" });
  const value = () => {
    const q = {};
    for (const [k, g] of Object.entries(groups)) {
      const vals = [...g.querySelectorAll("input:checked")].map((i) => i.value);
      if (vals.length) q[k] = vals;
    }
    for (const [k, inp] of Object.entries(inputs)) {
      const vals = inp.value.split(/[\s,]+/).map((v) => v.trim()).filter(Boolean);
      if (vals.length) q[k] = vals;
    }
    if (minScore.value !== "") q.min_churn_score = Number(minScore.value);
    if (dnd.checked) q.exclude_do_not_disturb = true;
    return q;
  };
  const el = h("div", { class: "audience" },
    h("div", { class: "aud-grid" },
      h("div", {}, h("h3", {}, "Tiers"), groups.tiers),
      h("div", {}, h("h3", {}, "Churn risk"), groups.risk_levels, h("h3", {}, "Lifecycle stage"), groups.lifecycle_stages),
      h("div", {}, h("h3", {}, "Four-high anomaly"), groups.four_high),
      h("div", {},
        h("h3", {}, "Segments and tags"),
        h("label", { class: "mini" }, "Segments", inputs.segments),
        h("label", { class: "mini" }, "Has any tag", inputs.tags),
        h("label", { class: "mini" }, "Has all tags", inputs.tags_all),
        h("label", { class: "mini" }, "Minimum churn score (0–1)", minScore),
        h("label", { class: "check" }, dnd, " Leave out do-not-disturb customers"))),
    h("details", {}, h("summary", {}, "Query as JSON"), json));
  const sync = () => { json.textContent = JSON.stringify(value(), null, 2); };
  el.addEventListener("input", sync);
  el.addEventListener("change", sync);
  sync();
  return { el, value };
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
  const audience = audienceBuilder({ risk_levels: ["high"], tiers: ["star4", "star5", "gold", "diamond"] });
  const frm = form([
    { name: "name", label: "Name", required: true, placeholder: "e.g. Retain high-risk VIP customers" },
    { name: "strategy_id", label: "Strategy (offer, channel, script)", type: "select",
      options: [["", strategies.length ? "— none —" : "— no strategies available —"], ...strategies.map((st) => [st.id, `${st.name}${st.channel ? ` (${st.channel})` : ""}`])] },
    { name: "flow", label: "Who acts", type: "select", options: [["app", "Customer app (recommendation)"], ["manager_task", "Account managers (care tasks)"], ["outbound", "Outbound SMS / call gateway"]] },
    { name: "channel", label: "Channel", type: "select", options: CHANNELS, value: "app_push" },
    { name: "holdout_pct", label: "Hold-out share (%)", type: "number", min: 0, max: 50, value: 10, required: true, help: "Drawn at random; they get nothing and measure the true uplift." },
    { name: "cost_per_touch_fen", label: "Cost per contact (fen)", type: "number", min: 0, max: 1000000, value: 0 },
    { name: "starts_on", label: "Starts on", type: "date", value: iso(today), required: true },
    { name: "ends_on", label: "Ends on", type: "date", value: iso(inMonth), required: true },
  ], {
    submit: "Create campaign (draft)",
    cancel: () => ctx.go("campaigns"),
    onSubmit: async (vals) => {
      const body = { ...vals, query: audience.value() };
      body.strategy_id = body.strategy_id ? Number(body.strategy_id) : null;
      const created = await post(BASE, body);
      ctx.go("campaigns", [created.id]);
    },
  });
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-audience", onclick: async () => {
    clear(preview, loading("Counting…"));
    try {
      const r = await post(`${BASE}/preview`, { query: audience.value(), holdout_pct: Number(frm.controls.holdout_pct.input.value || 0) });
      clear(preview, notice("info", `${fmt.int(pick(r, "audience", "count"))} customers match now; about ${fmt.int(pick(r, "expected_holdout", "holdout"))} would be held out.`));
    } catch (err) {
      clear(preview, errorBox(err, "Audience preview"));
    }
  } }, "Preview audience size");
  clear(el, page("New campaign", { subtitle: "Who (audience), what (strategy), when, and how many to hold out. It starts as a draft." },
    card("Audience", audience.el, h("div", { class: "actions" }, previewBtn), preview),
    card("Offer, channel and schedule", frm)));
}

async function renderOne(el, id, ctx) {
  clear(el, loading());
  const c = await attempt(el, "Campaign", () => get(`${BASE}/${encodeURIComponent(id)}`));
  if (!c) return;
  const camp = c.campaign || c;
  let strategyName = camp.strategy_id ? `#${camp.strategy_id}` : "—";
  if (camp.strategy_id) {
    try { strategyName = (await get(`/v1/strategies/${camp.strategy_id}`)).name || strategyName; } catch (e) { /* the id will do */ }
  }
  const actionMsg = h("div");
  const actions = [h("a", { class: "btn", href: "#/campaigns" }, "‹ All campaigns")];
  const act = (label, path, { primary = false, confirm, id: btnId } = {}) => h("button", { class: `btn ${primary ? "primary" : ""}`, id: btnId, onclick: async (ev) => {
    if (confirm && !window.confirm(confirm)) return;
    ev.target.disabled = true;
    clear(actionMsg, loading(`${label}…`));
    try {
      const r = await post(`${BASE}/${camp.id}/${path}`, {});
      await renderOne(el, id, ctx);
      if (path === "launch") el.prepend(notice("ok", `Launched: ${fmt.int(r.members)} members, ${fmt.int(r.holdout)} held out, ${fmt.int(r.treated)} to contact` + (r.suppressed ? ` (${fmt.int(r.suppressed)} suppressed by contact-pressure rules)` : "") + "."));
      if (path === "dispatch") el.prepend(notice("ok", `Sent ${fmt.int(r.sent)}, failed ${fmt.int(r.failed)}.`));
    } catch (err) {
      clear(actionMsg, errorBox(err, label));
      ev.target.disabled = false;
    }
  } }, label);
  if (ctx.can("launchCampaign")) {
    if (["draft", "scheduled"].includes(camp.status)) {
      actions.push(act("Launch now", "launch", { primary: true, id: "launch", confirm: `Launch “${camp.name}” now? Members are drawn, ${camp.holdout_pct}% are held out and get nothing, the rest are contacted.` }));
    }
    if (camp.status === "draft") actions.push(act("Schedule", "schedule", { id: "schedule" }));
    if (["draft", "scheduled"].includes(camp.status)) actions.push(act("Cancel", "cancel", { id: "cancel", confirm: "Cancel this campaign?" }));
    if (camp.status === "running" && camp.flow === "outbound") actions.push(act("Send queued messages", "dispatch", { id: "dispatch" }));
    if (camp.status === "running") actions.push(act("Finish", "finish", { id: "finish", confirm: "Finish the campaign? Open offers expire and queued sends are dropped." }));
  }
  actions.push(h("button", { class: "btn", id: "export-csv", onclick: async () => {
    clear(actionMsg);
    try {
      await download(`/v1/reports/campaigns/${camp.id}`, { format: "csv" }, `campaign-${camp.id}-report.csv`);
    } catch (err) {
      clear(actionMsg, errorBox(err, "CSV export"));
    }
  } }, "Export CSV"));

  const reportEl = h("div", {}, loading("Loading report…"));
  clear(el, page(camp.name || `Campaign ${id}`, { subtitle: `Campaign #${camp.id} · ${camp.status || ""}`, actions },
    actionMsg,
    h("div", { class: "cols" },
      card("Set-up", kv([
        ["Status", statusBadge(camp.status)],
        ["Strategy", strategyName],
        ["Channel / flow", `${fmt.text(camp.channel)} / ${fmt.text(camp.flow)}`],
        ["Runs", `${fmt.date(camp.starts_on)} → ${fmt.date(camp.ends_on)}`],
        ["Hold-out share", camp.holdout_pct !== undefined ? `${camp.holdout_pct}%` : "—"],
        ["Cost per contact", fmt.fen(camp.cost_per_touch_fen)],
      ]), h("h3", {}, "Segment query"), h("pre", {}, JSON.stringify(camp.query ?? {}, null, 2))),
      card("Members", membersView(c))),
    reportEl));
  loadReport(reportEl, camp);
}

function membersView(c) {
  const camp = c.campaign || c;
  const total = Number(camp.members || 0);
  const held = Number(camp.holdout_members || 0);
  const treated = total - held;
  if (!total) return h("p", { class: "muted" }, "Members are drawn when the campaign is launched.");
  return donut({ title: null, data: [{ label: "Contacted", value: treated || 0, color: "#2f6fdf" }, { label: "Hold-out", value: held || 0, color: "#b8c1d1" }] });
}

const pct = (v) => (v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`);
const pp = (v) => (v === null || v === undefined ? "—" : `${v >= 0 ? "+" : ""}${(v * 100).toFixed(1)} pp`);

// GET /v1/reports/campaigns/{id}: {summary, by_branch}; rows compare treated with hold-out.
async function loadReport(el, camp) {
  let r;
  try {
    r = await get(`/v1/reports/campaigns/${camp.id}`);
  } catch (err) {
    clear(el, card("Report", errorBox(err, "Campaign report")));
    return;
  }
  const s = r.summary;
  let branchName = {};
  try { branchName = Object.fromEntries(listOf(await get("/v1/org-units", { kind: "branch" })).map((u) => [String(u.id), u.name])); } catch (e) { branchName = {}; }
  if (!s) {
    clear(el, card("Report", h("p", { class: "muted", id: "report-empty" }, "No members yet: the report fills in once the campaign is launched.")));
    return;
  }
  const stat = (label, value, note) => h("div", { class: "stat" }, h("div", { class: "label" }, label),
    h("div", { class: `value${String(value).length > 9 ? " small" : ""}` }, value), note ? h("div", { class: "note" }, note) : null);
  const ciText = s.retention_uplift_ci_low !== null && s.retention_uplift_ci_low !== undefined
    ? `95% CI ${pp(s.retention_uplift_ci_low)} to ${pp(s.retention_uplift_ci_high)}` : "not enough members for a CI";
  const arpuCi = s.arpu_uplift_ci_low_fen !== null && s.arpu_uplift_ci_low_fen !== undefined
    ? `95% CI ${fmt.fen(s.arpu_uplift_ci_low_fen)} to ${fmt.fen(s.arpu_uplift_ci_high_fen)}` : "not enough bills for a CI";
  const rows = [];
  if (s.retention_uplift !== null && s.retention_uplift !== undefined) rows.push({ label: "Retention rate", value: s.retention_uplift, lo: s.retention_uplift_ci_low, hi: s.retention_uplift_ci_high });
  const children = [
    h("div", { class: "stats", id: "report-stats" },
      stat("Members", fmt.int(s.members), `${fmt.int(s.treated)} contacted group · ${fmt.int(s.holdout)} hold-out`),
      stat("Reached", fmt.int(s.reached), `reach rate ${pct(s.reach_rate)}`),
      stat("Contacts", fmt.int(s.touches), `${fmt.num(s.touches_per_member, 2)} per member`),
      stat("Touch success", pct(s.touch_success_rate), `offline ${pct(s.offline_success_rate)} · online ${pct(s.online_success_rate)}`),
      stat("Accepted offers", fmt.int(s.accepted), `acceptance ${pct(s.acceptance_rate)}`),
      stat("Retention", `${pct(s.retention_treated)} vs ${pct(s.retention_holdout)}`, "contacted vs hold-out"),
      stat("Retention uplift", pp(s.retention_uplift), ciText),
      stat("ARPU change uplift", s.arpu_uplift_fen === null || s.arpu_uplift_fen === undefined ? "—" : fmt.fen(s.arpu_uplift_fen), arpuCi),
      stat("Cost", fmt.fen(s.cost_fen), `per retained ${fmt.fen(s.cost_per_retained_fen)}`),
      stat("Cost per extra retained", fmt.fen(s.cost_per_incremental_retained_fen), "cost ÷ (uplift × contacted)")),
    h("div", { class: "cols" },
      intervals({ title: "Retention uplift against the hold-out group (95% CI)", rows, format: pp }),
      s.arpu_uplift_fen !== null && s.arpu_uplift_fen !== undefined
        ? intervals({ title: "ARPU change uplift (¥/month, 95% CI)", rows: [{ label: "ARPU change", value: s.arpu_uplift_fen / 100, lo: s.arpu_uplift_ci_low_fen === null ? null : s.arpu_uplift_ci_low_fen / 100, hi: s.arpu_uplift_ci_high_fen === null ? null : s.arpu_uplift_ci_high_fen / 100 }], format: (v) => `¥${v.toFixed(2)}` })
        : h("div")),
  ];
  if ((r.by_branch || []).length) {
    children.push(h("h3", {}, "By branch"), table([
      { key: "group", label: "Branch", render: (b) => branchName[b.group] ?? (b.group === "none" ? "no branch" : `#${b.group}`) },
      { key: "members", label: "Members", class: "num", render: (b) => fmt.int(b.members) },
      { key: "holdout", label: "Hold-out", class: "num", render: (b) => fmt.int(b.holdout) },
      { key: "touch_success_rate", label: "Touch success", class: "num", render: (b) => pct(b.touch_success_rate) },
      { key: "retention_treated", label: "Retention (contacted)", class: "num", render: (b) => pct(b.retention_treated) },
      { key: "retention_holdout", label: "Retention (hold-out)", class: "num", render: (b) => pct(b.retention_holdout) },
      { key: "retention_uplift", label: "Uplift", class: "num", render: (b) => pp(b.retention_uplift) },
      { key: "cost_fen", label: "Cost", class: "num", render: (b) => fmt.fen(b.cost_fen) },
    ], r.by_branch));
  }
  clear(el, card("Report: contacted group against the hold-out group", ...children));
}
