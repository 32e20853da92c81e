// Audit log (read-only): every back-office change and every unmasked view, filterable, as CSV.
// API: GET /v1/audit (actor, action — exact or a prefix ending in '.', object_kind, object_id,
// since, until, before) and the same with format=csv.

import { download, get } from "../api.js";
import { clear, errorBox, filters, fmt, h, labelOr, page, pagedTable, t } from "../ui.js";

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

export async function render(el, { query, ctx }) {
  const columns = [
    { key: "id", label: "#", class: "num" },
    { key: "at", label: t("audit.when"), class: "nowrap", render: (r) => fmt.time(r.at) },
    { key: "actor", label: t("audit.who"), render: (r) => h("code", {}, r.actor) },
    { key: "role", label: t("audit.role"), render: (r) => labelOr("role", r.role) },
    { key: "action", label: t("audit.action"), render: (r) => h("code", {}, r.action) },
    { key: "object", label: t("audit.object"), render: (r) => (r.object_kind ? `${r.object_kind} ${r.object_id ?? ""}` : "—") },
    { key: "ip", label: t("audit.from_ip"), render: (r) => fmt.text(r.ip) },
    { key: "detail", label: t("audit.detail"), class: "wrap", render: (r) => {
      const text = r.detail && Object.keys(r.detail).length ? JSON.stringify(r.detail) : "";
      return h("code", { class: "detail", title: text.length > 160 ? text : null }, text.length > 160 ? `${text.slice(0, 160)}…` : text);
    } },
  ];
  const q = {
    actor: query.actor, action: query.action, object_kind: query.object_kind, object_id: query.object_id,
    since: query.since, until: query.until ? nextDay(query.until) : undefined,
  };
  const msg = h("div");
  const list = pagedTable(columns, (paging) => get("/v1/audit", { ...q, ...paging }), { what: t("nav.audit"), pageSize: 50, empty: t("audit.none") });
  const bar = filters([
    { name: "actor", label: t("audit.who"), placeholder: t("audit.who_eg") },
    { name: "action", label: t("audit.action_prefix"), placeholder: t("audit.action_eg") },
    { name: "object_kind", label: t("audit.object_kind"), placeholder: t("audit.object_kind_eg") },
    { name: "object_id", label: t("audit.object_id") },
    { name: "since", label: t("audit.since"), type: "date" },
    { name: "until", label: t("audit.until"), type: "date" },
  ], query, (vals) => ctx.go("audit", [], vals));
  const csv = h("button", { class: "btn", id: "audit-csv", onclick: async () => {
    clear(msg);
    try { await download("/v1/audit", { ...q, limit: 500, format: "csv" }, "audit.csv"); } catch (err) { clear(msg, errorBox(err, t("ui.csv_export"))); }
  } }, t("ui.export_csv"));
  clear(el, page(t("nav.audit"), { subtitle: t("audit.subtitle"), actions: [csv] }, msg, bar, list));
}
