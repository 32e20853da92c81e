// Staff, organisation and account-manager assignments. Moves keep their reason (history tab).

import { get, listOf, post } from "../api.js";
import { card, clear, filters, fmt, form, h, label, labelOr, loading, notice, options, page, pagedTable, statusBadge, t, table, tabs } from "../ui.js";

const ROLES = ["admin", "analyst", "strategist", "operator", "branch_head", "account_manager", "hall_staff", "auditor"];

export async function render(el, { query, ctx }) {
  const available = [];
  if (ctx.can("viewStaff")) available.push(["staff", t("staff.tab.staff")]);
  available.push(["org", t("staff.tab.org")]);
  if (ctx.can("viewAssignments")) available.push(["assignments", t("staff.tab.assignments")], ["history", t("staff.tab.history")]);
  const tab = available.some(([id]) => id === query.tab) ? query.tab : available[0][0];
  const body = h("div", {}, loading());
  clear(el, page(t("nav.staff"), { subtitle: t("staff.subtitle") },
    tabs(available, tab, (id) => ctx.go("staff", [], { tab: id })), body));
  let units = [];
  try { units = listOf(await get("/v1/org-units")); } catch (e) { units = []; }
  const unitName = Object.fromEntries(units.map((u) => [u.id, u.name]));
  if (tab === "staff") return staffTab(body, query, ctx, units, unitName);
  if (tab === "org") return orgTab(body, units);
  if (tab === "assignments") return assignmentsTab(body, query, ctx);
  return historyTab(body, query, ctx);
}

function staffTab(body, query, ctx, units, unitName) {
  const editor = h("div");
  const list = pagedTable([
    { key: "username", label: t("staff.username"), render: (r) => h("code", {}, r.username) },
    { key: "full_name", label: t("staff.name") },
    { key: "role", label: t("staff.role"), render: (r) => label("role", r.role) },
    { key: "org_unit_id", label: t("staff.unit"), render: (r) => fmt.text(unitName[r.org_unit_id] ?? r.org_unit_id) },
    { key: "work_phone", label: t("staff.work_phone"), render: (r) => h("span", { class: "mono" }, fmt.text(r.work_phone)) },
    { key: "load", label: t("staff.load"), class: "num", render: (r) => (r.role === "account_manager" ? `${fmt.int(r.assigned_customers)} / ${fmt.int(r.capacity)}` : "—") },
    { key: "active", label: t("staff.active"), render: (r) => statusBadge(Boolean(r.active)) },
  ], (paging) => get("/v1/staff", { role: query.role, q: query.q, ...paging }), { what: t("staff.list"), empty: t("staff.none") });
  const bar = filters([
    { name: "q", label: t("staff.search"), placeholder: t("staff.search_eg") },
    { name: "role", label: t("staff.role"), type: "select", options: options("role", ROLES) },
  ], query, (vals) => ctx.go("staff", [], { tab: "staff", ...vals }));
  const newBtn = ctx.can("editStaff") ? h("button", { class: "btn primary", id: "new-staff", onclick: () => {
    clear(editor, card(t("staff.new"), form([
      { name: "username", label: t("staff.username"), required: true, placeholder: t("staff.username_help") },
      { name: "full_name", label: t("staff.full_name"), required: true },
      { name: "role", label: t("staff.role"), type: "select", options: options("role", ROLES), value: "account_manager" },
      { name: "org_unit_id", label: t("staff.unit"), type: "select", options: [["", t("ui.none")], ...units.map((u) => [u.id, `${u.name} (${label("org_kind", u.kind)})`])] },
      { name: "capacity", label: t("staff.capacity"), type: "number", min: 0, max: 5000, value: 400 },
      { name: "password", label: t("staff.password"), type: "password", required: true },
    ], {
      submit: t("staff.create"),
      cancel: () => clear(editor),
      onSubmit: async (vals) => {
        await post("/v1/staff", { ...vals, org_unit_id: vals.org_unit_id ? Number(vals.org_unit_id) : null });
        clear(editor, notice("ok", t("staff.created", { username: vals.username })));
        list.reload();
      },
    })));
  } }, t("staff.new")) : null;
  clear(body, h("div", { class: "page-actions", style: "margin-bottom:10px" }, newBtn), editor, bar, list);
}

function orgTab(body, units) {
  const children = {};
  units.forEach((u) => { (children[u.parent_id ?? "root"] ||= []).push(u); });
  const rows = [];
  const walk = (parent, depth) => (children[parent] || []).sort((a, b) => a.name.localeCompare(b.name)).forEach((u) => { rows.push({ ...u, depth }); walk(u.id, depth + 1); });
  const ids = new Set(units.map((u) => u.id));
  walk("root", 0);
  units.filter((u) => u.parent_id && !ids.has(u.parent_id)).forEach((u) => { rows.push({ ...u, depth: 0 }); walk(u.id, 1); });
  clear(body, card(null, table([
    { key: "name", label: t("staff.unit"), render: (r) => h("span", { style: `padding-left:${r.depth * 16}px` }, r.depth ? "└ " : "", r.name) },
    { key: "kind", label: t("staff.kind"), render: (r) => label("org_kind", r.kind) },
    { key: "code", label: t("staff.code"), render: (r) => h("code", {}, r.code) },
    { key: "created_at", label: t("staff.created_at"), class: "nowrap", render: (r) => fmt.date(r.created_at) },
  ], rows, { empty: t("staff.no_units") })));
}

async function assignmentsTab(body, query, ctx) {
  let managers = [];
  try { managers = listOf(await get("/v1/staff", { role: "account_manager", limit: 100 })); } catch (e) { managers = []; }
  const managerOptions = managers.map((m) => [m.id, `${m.full_name} (${m.username}) · ${m.assigned_customers}/${m.capacity}`]);
  const list = pagedTable([
    { key: "customer_id", label: t("staff.customer"), class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "customer_name", label: t("staff.name") },
    { key: "customer_phone", label: t("staff.phone"), render: (r) => h("span", { class: "mono" }, fmt.text(r.customer_phone)) },
    { key: "manager_username", label: t("staff.manager"), render: (r) => h("code", {}, r.manager_username) },
    { key: "reason", label: t("staff.reason"), class: "wrap", render: (r) => labelOr("assign_reason", r.reason) },
    { key: "since", label: t("staff.since"), class: "nowrap", render: (r) => fmt.date(r.since) },
  ], (paging) => get("/v1/assignments", { manager_id: query.manager_id, customer_id: query.customer_id, ...paging }), { what: t("staff.tab.assignments"), empty: t("staff.no_assignments") });
  const bar = filters([
    { name: "manager_id", label: t("staff.manager"), type: "select", options: managerOptions },
    { name: "customer_id", label: t("staff.customer_id"), type: "number" },
  ], query, (vals) => ctx.go("staff", [], { tab: "assignments", ...vals }));
  const result = h("div");
  const mover = ctx.can("moveAssignments") ? card(t("staff.move_title"), form([
    { name: "customer_ids", label: t("staff.customer_ids"), required: true, wide: true },
    { name: "to_manager_id", label: t("staff.to_manager"), type: "select", options: [["", t("ui.choose")], ...managerOptions], required: true },
    { name: "reason", label: t("staff.move_reason"), required: true, placeholder: t("staff.move_reason_eg") },
    { name: "force", label: t("staff.force"), type: "checkbox" },
  ], {
    submit: t("staff.move"),
    onSubmit: async (vals) => {
      const ids = String(vals.customer_ids).split(/[\s,]+/).filter(Boolean).map(Number);
      const r = await post("/v1/assignments/move", { customer_ids: ids, to_manager_id: Number(vals.to_manager_id), reason: vals.reason, force: vals.force });
      const load = r.manager_load !== null && r.manager_load !== undefined ? ` ${t("staff.load_now", { count: r.manager_load })}` : "";
      clear(result, notice("ok", `${t("staff.moved", { moved: r.moved.length, unchanged: r.unchanged.length })}${load}`));
      list.reload();
    },
  }), result) : null;
  clear(body, mover, bar, list);
}

function historyTab(body, query, ctx) {
  const list = pagedTable([
    { key: "at", label: t("staff.when"), class: "nowrap", render: (r) => fmt.time(r.at) },
    { key: "customer_id", label: t("staff.customer"), class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "from_manager_id", label: t("staff.from_manager"), class: "num", render: (r) => fmt.text(r.from_manager_id) },
    { key: "to_manager_id", label: t("staff.to_manager"), class: "num", render: (r) => fmt.text(r.to_manager_id) },
    { key: "reason", label: t("staff.reason"), class: "wrap", render: (r) => labelOr("assign_reason", r.reason) },
    { key: "actor_id", label: t("staff.by"), class: "num", render: (r) => fmt.text(r.actor_id) },
  ], (paging) => get("/v1/assignments/history", { customer_id: query.customer_id, limit: paging.limit, before: paging.after_id }), { what: t("staff.tab.history"), empty: t("staff.no_history"), pageSize: 100 });
  const bar = filters([{ name: "customer_id", label: t("staff.customer_id"), type: "number" }], query, (vals) => ctx.go("staff", [], { tab: "history", ...vals }));
  clear(body, bar, list);
}
