// Staff, organisation and account-manager assignments. Moves keep their reason (history tab).

import { get, listOf, post } from "../api.js";
import { card, clear, filters, fmt, form, h, loading, notice, page, pagedTable, statusBadge, table, tabs } from "../ui.js";
import { ROLE_LABELS } from "../roles.js";

const ROLES = [["admin", "Administrator"], ["analyst", "Analyst"], ["strategist", "Strategist"], ["operator", "Operator"],
  ["branch_head", "Branch head"], ["account_manager", "Account manager"], ["hall_staff", "Hall staff"], ["auditor", "Auditor"]];

const ROLE_NAME = Object.fromEntries(ROLES);

export async function render(el, { query, ctx }) {
  const available = [];
  if (ctx.can("viewStaff")) available.push(["staff", "Staff"]);
  available.push(["org", "Organisation"]);
  if (ctx.can("viewAssignments")) available.push(["assignments", "Assignments"], ["history", "Assignment history"]);
  const tab = available.some(([id]) => id === query.tab) ? query.tab : available[0][0];
  const body = h("div", {}, loading());
  clear(el, page("Staff & assignments", { subtitle: "Departments, branches, staff accounts and which account manager looks after which customer." },
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
    { key: "username", label: "Username", render: (r) => h("code", {}, r.username) },
    { key: "full_name", label: "Name" },
    { key: "role", label: "Role", render: (r) => ROLE_NAME[r.role] || ROLE_LABELS[r.role] || r.role },
    { key: "org_unit_id", label: "Unit", render: (r) => fmt.text(unitName[r.org_unit_id] ?? r.org_unit_id) },
    { key: "work_phone", label: "Work phone", render: (r) => h("span", { class: "mono" }, fmt.text(r.work_phone)) },
    { key: "load", label: "Customers / capacity", class: "num", render: (r) => (r.role === "account_manager" ? `${fmt.int(r.assigned_customers)} / ${fmt.int(r.capacity)}` : "—") },
    { key: "active", label: "Active", render: (r) => statusBadge(Boolean(r.active)) },
  ], (paging) => get("/v1/staff", { role: query.role, q: query.q, ...paging }), { what: "Staff list", empty: "No staff match." });
  const bar = filters([
    { name: "q", label: "Search", placeholder: "username or name" },
    { name: "role", label: "Role", type: "select", options: ROLES },
  ], query, (vals) => ctx.go("staff", [], { tab: "staff", ...vals }));
  const newBtn = ctx.can("editStaff") ? h("button", { class: "btn primary", id: "new-staff", onclick: () => {
    clear(editor, card("New staff account", form([
      { name: "username", label: "Username", required: true, placeholder: "lower case, 3–64 characters" },
      { name: "full_name", label: "Full name", required: true },
      { name: "role", label: "Role", type: "select", options: ROLES, value: "account_manager" },
      { name: "org_unit_id", label: "Unit", type: "select", options: [["", "— none —"], ...units.map((u) => [u.id, `${u.name} (${u.kind.replaceAll("_", " ")})`])] },
      { name: "capacity", label: "Capacity (customers)", type: "number", min: 0, max: 5000, value: 400 },
      { name: "password", label: "Initial password (10+ characters)", type: "password", required: true },
    ], {
      submit: "Create account",
      cancel: () => clear(editor),
      onSubmit: async (vals) => {
        await post("/v1/staff", { ...vals, org_unit_id: vals.org_unit_id ? Number(vals.org_unit_id) : null });
        clear(editor, notice("ok", `Account ${vals.username} created.`));
        list.reload();
      },
    })));
  } }, "New staff account") : null;
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
    { key: "name", label: "Unit", render: (r) => h("span", { style: `padding-left:${r.depth * 22}px` }, r.depth ? "└ " : "", r.name) },
    { key: "kind", label: "Kind", render: (r) => r.kind.replaceAll("_", " ") },
    { key: "code", label: "Code", render: (r) => h("code", {}, r.code) },
    { key: "created_at", label: "Created", class: "nowrap", render: (r) => fmt.date(r.created_at) },
  ], rows, { empty: "No organisation units yet." })));
}

async function assignmentsTab(body, query, ctx) {
  let managers = [];
  try { managers = listOf(await get("/v1/staff", { role: "account_manager", limit: 100 })); } catch (e) { managers = []; }
  const managerOptions = managers.map((m) => [m.id, `${m.full_name} (${m.username}) · ${m.assigned_customers}/${m.capacity}`]);
  const list = pagedTable([
    { key: "customer_id", label: "Customer", class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "customer_name", label: "Name" },
    { key: "customer_phone", label: "Phone", render: (r) => h("span", { class: "mono" }, fmt.text(r.customer_phone)) },
    { key: "manager_username", label: "Manager", render: (r) => h("code", {}, r.manager_username) },
    { key: "reason", label: "Reason", class: "wrap" },
    { key: "since", label: "Since", class: "nowrap", render: (r) => fmt.date(r.since) },
  ], (paging) => get("/v1/assignments", { manager_id: query.manager_id, customer_id: query.customer_id, ...paging }), { what: "Assignments", empty: "No assignments match." });
  const bar = filters([
    { name: "manager_id", label: "Manager", type: "select", options: managerOptions },
    { name: "customer_id", label: "Customer id", type: "number" },
  ], query, (vals) => ctx.go("staff", [], { tab: "assignments", ...vals }));
  const result = h("div");
  const mover = ctx.can("moveAssignments") ? card("Move customers to a manager", form([
    { name: "customer_ids", label: "Customer ids (comma or space separated)", required: true, wide: true },
    { name: "to_manager_id", label: "To manager", type: "select", options: [["", "— choose —"], ...managerOptions], required: true },
    { name: "reason", label: "Reason (kept in the history)", required: true, placeholder: "e.g. manager left the branch" },
    { name: "force", label: "Allow going over capacity", type: "checkbox" },
  ], {
    submit: "Move",
    onSubmit: async (vals) => {
      const ids = String(vals.customer_ids).split(/[\s,]+/).filter(Boolean).map(Number);
      const r = await post("/v1/assignments/move", { customer_ids: ids, to_manager_id: Number(vals.to_manager_id), reason: vals.reason, force: vals.force });
      clear(result, notice("ok", `Moved ${r.moved.length}; ${r.unchanged.length} unchanged.${r.manager_load !== null && r.manager_load !== undefined ? ` The manager now has ${r.manager_load} customer${r.manager_load === 1 ? "" : "s"}.` : ""}`));
      list.reload();
    },
  }), result) : null;
  clear(body, mover, bar, list);
}

function historyTab(body, query, ctx) {
  const list = pagedTable([
    { key: "at", label: "When", class: "nowrap", render: (r) => fmt.time(r.at) },
    { key: "customer_id", label: "Customer", class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "from_manager_id", label: "From manager", class: "num", render: (r) => fmt.text(r.from_manager_id) },
    { key: "to_manager_id", label: "To manager", class: "num", render: (r) => fmt.text(r.to_manager_id) },
    { key: "reason", label: "Reason", class: "wrap" },
    { key: "actor_id", label: "By staff", class: "num", render: (r) => fmt.text(r.actor_id) },
  ], (paging) => get("/v1/assignments/history", { customer_id: query.customer_id, limit: paging.limit, before: paging.after_id }), { what: "Assignment history", empty: "No changes recorded.", pageSize: 100 });
  const bar = filters([{ name: "customer_id", label: "Customer id", type: "number" }], query, (vals) => ctx.go("staff", [], { tab: "history", ...vals }));
  clear(body, bar, list);
}
