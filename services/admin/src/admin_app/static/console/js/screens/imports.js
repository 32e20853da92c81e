// Data imports: upload a billing-system CSV, follow its progress, read the bad-row report.
// API: POST /v1/imports?kind=… (multipart `file`), GET /v1/imports, GET /v1/imports/{id},
// GET /v1/imports/{id}/errors?format=csv, GET /v1/imports/layouts. The data-quality report of a
// load (`quality` of GET /v1/imports/{id}) is drawn by qualityCard, also on the jobs screen.

import { download, get, listOf, request } from "../api.js";
import { attempt, card, clear, errorBox, fmt, form, h, kv, label, labelOr, loading, notice, options, page, pagedTable, statusBadge, t, table, tx } from "../ui.js";

const BASE = "/v1/imports";
const KINDS = ["subscribers", "usage", "bills", "handsets", "complaints"];
const FINISHED = new Set(["done", "failed"]);

export async function render(el, { args, ctx }) {
  if (args[0]) return renderJob(el, args[0], ctx);
  const layoutEl = h("div", { class: "layout-help" });
  let layouts = [];
  const showLayout = (kind) => {
    const layout = layouts.find((l) => l.kind === kind);
    if (!layout) { clear(layoutEl); return; }
    clear(layoutEl, h("h3", {}, t("imp.columns_for", { kind: label("import_kind", kind) })), layout.description ? h("p", { class: "help" }, layout.description) : null,
      table([
        { key: "name", label: t("imp.column"), render: (c) => h("code", {}, c.name) },
        { key: "required", label: t("imp.required"), render: (c) => (c.required ? t("ui.yes") : "") },
        { key: "type", label: t("imp.type") },
        { key: "description", label: t("imp.meaning"), class: "wrap" },
      ], layout.columns || []),
      layout.key && layout.key.length ? h("p", { class: "help" }, t("imp.key_help", { key: layout.key.join(" + ") })) : null);
  };
  let upload = null;
  if (ctx.can("importData")) {
    const frm = form([
      { name: "kind", label: t("imp.kind"), type: "select", options: options("import_kind", KINDS), required: true },
      { name: "encoding", label: t("imp.encoding"), type: "select", options: [["utf-8", "UTF-8"], ["gb18030", t("imp.gb18030")]] },
      { name: "file", label: t("imp.file"), type: "file", accept: ".csv,text/csv", required: true },
    ], {
      submit: t("imp.upload"),
      onSubmit: async (vals) => {
        const fd = new FormData();
        fd.append("file", vals.file, vals.file.name);
        const job = await request("POST", BASE, { form: fd, query: { kind: vals.kind, encoding: vals.encoding || "utf-8" } });
        ctx.go("imports", [job.id]);
      },
    });
    frm.controls.kind.input.addEventListener("change", (ev) => showLayout(ev.target.value));
    upload = card(t("imp.upload_title"), frm,
      h("p", { class: "help" }, t("imp.upload_help")),
      layoutEl);
    get(`${BASE}/layouts`).then((data) => { layouts = listOf(data); showLayout(frm.controls.kind.input.value); }).catch(() => {});
  }
  const list = pagedTable(jobColumns(), (paging) => get(BASE, { ...paging }),
    { what: t("imp.history"), empty: t("imp.none"), onRow: (r) => ctx.go("imports", [r.id]) });
  clear(el, page(t("nav.imports"), { subtitle: t("imp.subtitle") }, upload, card(t("imp.history"), list)));
}

function jobColumns() {
  return [
    { key: "id", label: t("imp.job"), class: "num", render: (r) => h("a", { href: `#/imports/${r.id}` }, `#${r.id}`) },
    { key: "kind", label: t("imp.kind_short"), render: (r) => label("import_kind", r.kind) },
    { key: "filename", label: t("imp.file_short") },
    { key: "status", label: t("imp.status"), render: (r) => statusBadge(r.status) },
    { key: "rows_total", label: t("imp.rows"), class: "num", render: (r) => fmt.int(r.rows_total) },
    { key: "rows_ok", label: t("imp.good"), class: "num", render: (r) => fmt.int(r.rows_ok) },
    { key: "rows_changed", label: t("imp.changed"), class: "num", render: (r) => fmt.int(r.rows_changed) },
    { key: "rows_bad", label: t("imp.bad"), class: "num", render: (r) => fmt.int(r.rows_bad) },
    { key: "created_at", label: t("imp.started"), class: "nowrap", render: (r) => fmt.time(r.created_at) },
  ];
}

async function renderJob(el, id) {
  const view = h("div", {}, loading());
  const csvMsg = h("div");
  const csvBtn = h("button", { class: "btn", id: "bad-rows-csv", onclick: async () => {
    clear(csvMsg);
    try { await download(`${BASE}/${encodeURIComponent(id)}/errors`, { format: "csv" }, `import-${id}-bad-rows.csv`); } catch (err) { clear(csvMsg, errorBox(err, t("imp.bad_csv"))); }
  } }, t("imp.bad_csv"));
  clear(el, page(t("imp.title", { id }), { actions: [h("a", { class: "btn", href: "#/imports" }, t("imp.all")), csvBtn] }, csvMsg, view));
  const tick = async () => {
    if (!el.isConnected) return;
    const j = await attempt(view, t("imp.job_what"), () => get(`${BASE}/${encodeURIComponent(id)}`));
    if (!j) return;
    const total = Number(j.rows_total || 0);
    const processed = Number(j.rows_ok || 0) + Number(j.rows_bad || 0);
    const finished = FINISHED.has(String(j.status));
    const pct = finished ? 100 : total ? Math.min(99, Math.round((processed / total) * 100)) : 3;
    const errors = listOf(j.errors || []);
    clear(view,
      card(t("imp.progress"),
        h("div", { class: "progress", role: "progressbar", "aria-valuenow": pct }, h("div", { style: `width:${pct}%` })),
        finished ? null : h("p", { class: "help" }, t("imp.refreshing", { status: label("status", j.status) })),
        kv([
          [t("imp.status"), statusBadge(j.status)], [t("imp.kind_short"), label("import_kind", j.kind)], [t("imp.file_short"), j.filename],
          ["SHA-256", h("code", {}, fmt.text(j.sha256))], [t("imp.rows_read"), fmt.int(j.rows_total)], [t("imp.good_rows"), fmt.int(j.rows_ok)],
          [t("imp.rows_changed"), fmt.int(j.rows_changed)], [t("imp.bad_rows"), fmt.int(j.rows_bad)], [t("imp.started"), fmt.time(j.created_at)],
          [t("imp.finished"), h("span", { id: "import-finished" }, fmt.time(j.finished_at))],
          ...(j.job_id ? [[t("imp.queue_job"), h("a", { href: `#/jobs/${j.job_id}` }, `#${j.job_id}`)]] : []),
        ]),
        j.same_file_as ? notice("info", ...tx("imp.same_file", { id: j.same_file_as, link: h("a", { href: `#/imports/${j.same_file_as}` }, t("imp.see_it")) })) : null),
      card(t("imp.bad_rows_n", { n: fmt.int(j.rows_bad ?? errors.length) }), errors.length
        ? table([
          { key: "line", label: t("imp.line"), class: "num", render: (r) => fmt.int(r.line) },
          { key: "reason", label: t("imp.reason"), class: "wrap", render: (r) => fmt.text(r.reason ?? r.error) },
        ], errors.slice(0, 500), {})
        : h("p", { class: "muted" }, finished ? t("imp.all_valid") : t("imp.none_yet"))),
      j.quality && Object.keys(j.quality).length ? qualityCard(j.quality) : null);
    if (!finished) setTimeout(tick, 1000);
  };
  await tick();
}

// A bad-row reason code: `invalid:<column>` names the column; the other codes have labels.
function reasonLabel(code) {
  return code.startsWith("invalid:") ? t("imp.q.invalid", { column: code.slice(8) }) : labelOr("import_reason", code);
}

// The data-quality report of one load: rows good / bad / changed / unchanged, duplicates, bad rows
// by reason, rows per month, and months older than the newest one loaded before (late data).
export function qualityCard(q) {
  const counts = (obj, keyLabel, kind) => {
    const rows = Object.entries(obj || {}).map(([key, n]) => ({ key, n }));
    return table([
      { key: "key", label: keyLabel, render: (r) => (kind ? reasonLabel(r.key) : r.key) },
      { key: "n", label: t("imp.q.count"), class: "num", render: (r) => fmt.int(r.n) },
    ], rows, { empty: t("imp.q.none") });
  };
  const late = Object.keys(q.late_months || {}).length;
  return h("div", { class: "card", id: "import-quality" },
    h("h2", {}, t("imp.q.title")),
    kv([
      [t("imp.q.rows"), fmt.int(q.rows)], [t("imp.q.rows_ok"), fmt.int(q.rows_ok)], [t("imp.q.rows_bad"), fmt.int(q.rows_bad)],
      [t("imp.q.changed"), fmt.int(q.changed)], [t("imp.q.unchanged"), fmt.int(q.unchanged)], [t("imp.q.duplicates"), fmt.int(q.duplicates)],
    ]),
    late ? notice("info", t("imp.q.late_help", { n: fmt.int(late) })) : null,
    h("div", { class: "grid" },
      h("div", { dataset: { quality: "reasons" } }, h("h3", {}, t("imp.q.by_reason")), counts(q.bad_by_reason, t("imp.reason"), "import_reason")),
      h("div", { dataset: { quality: "months" } }, h("h3", {}, t("imp.q.months")), counts(q.months, t("imp.q.month"))),
      h("div", { dataset: { quality: "late" } }, h("h3", {}, t("imp.q.late_months")), counts(q.late_months, t("imp.q.month")))));
}
