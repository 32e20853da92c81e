// Audit log (read-only): every back-office change and every unmasked view, filterable, as CSV.
// API: GET /v1/audit (actor, action — exact or a prefix ending in '.', object_kind, object_id,
// since, until, before) and the same with format=csv.

import { download, get } from "../api.js";
import { clear, errorBox, filters, fmt, h, page, pagedTable } from "../ui.js";

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export async function render(el, { query, ctx }) {
  const columns = [
    { key: "id", label: "#", class: "num" },
    { key: "at", label: "When", class: "nowrap", render: (r) => fmt.time(r.at) },
    { key: "actor", label: "Who", render: (r) => h("code", {}, r.actor) },
    { key: "role", label: "Role" },
    { key: "action", label: "Action", render: (r) => h("code", {}, r.action) },
    { key: "object", label: "Object", render: (r) => (r.object_kind ? `${r.object_kind} ${r.object_id ?? ""}` : "—") },
    { key: "ip", label: "From", render: (r) => fmt.text(r.ip) },
    { key: "detail", label: "Detail", class: "wrap", render: (r) => {
      const text = r.detail && Object.keys(r.detail).length ? JSON.stringify(r.detail) : "";
      return h("code", { class: "detail", title: text.length > 160 ? text : null }, text.length > 160 ? `${text.slice(0, 160)}…` : text);
    } },
  ];
  const q = {
    actor: query.actor, action: query.action, object_kind: query.object_kind, object_id: query.object_id,
    since: query.since, until: query.until ? nextDay(query.until) : undefined,
  };
  const msg = h("div");
  const list = pagedTable(columns, (paging) => get("/v1/audit", { ...q, ...paging }), { what: "Audit log", pageSize: 50, empty: "No audit entries match." });
  const bar = filters([
    { name: "actor", label: "Who", placeholder: "e.g. staff:1" },
    { name: "action", label: "Action (or prefix.)", placeholder: "e.g. customer.unmask or campaign." },
    { name: "object_kind", label: "Object kind", placeholder: "e.g. campaign" },
    { name: "object_id", label: "Object id" },
    { name: "since", label: "From", type: "date" },
    { name: "until", label: "To (inclusive)", type: "date" },
  ], query, (vals) => ctx.go("audit", [], vals));
  const csv = h("button", { class: "btn", id: "audit-csv", onclick: async () => {
    clear(msg);
    try { await download("/v1/audit", { ...q, limit: 500, format: "csv" }, "audit.csv"); } catch (err) { clear(msg, errorBox(err, "CSV export")); }
  } }, "Export CSV");
  clear(el, page("Audit log", { subtitle: "Append-only: who did what, when and from where. Nobody can edit it.", actions: [csv] }, msg, bar, list));
}
