// Data imports: upload a billing-system CSV, follow its progress, read the bad-row report.
// API: POST /v1/imports?kind=… (multipart `file`), GET /v1/imports, GET /v1/imports/{id},
// GET /v1/imports/{id}/errors?format=csv, GET /v1/imports/layouts.

import { download, get, listOf, request } from "../api.js";
import { attempt, card, clear, errorBox, fmt, form, h, kv, loading, notice, page, pagedTable, statusBadge, table } from "../ui.js";

const BASE = "/v1/imports";
const KINDS = [["subscribers", "Subscribers"], ["usage", "Monthly usage"], ["bills", "Bills"], ["handsets", "Handsets"], ["complaints", "Complaints"]];
const FINISHED = new Set(["done", "failed"]);

export async function render(el, { args, ctx }) {
  if (args[0]) return renderJob(el, args[0], ctx);
  const layoutEl = h("div", { class: "layout-help" });
  let layouts = [];
  const showLayout = (kind) => {
    const layout = layouts.find((l) => l.kind === kind);
    if (!layout) { clear(layoutEl); return; }
    clear(layoutEl, h("h3", {}, `Columns for ${kind}`), layout.description ? h("p", { class: "help" }, layout.description) : null,
      table([
        { key: "name", label: "Column", render: (c) => h("code", {}, c.name) },
        { key: "required", label: "Required", render: (c) => (c.required ? "yes" : "") },
        { key: "type", label: "Type" },
        { key: "description", label: "Meaning", class: "wrap" },
      ], layout.columns || []),
      layout.key && layout.key.length ? h("p", { class: "help" }, `Rows are matched on ${layout.key.join(" + ")}; importing the same rows again changes nothing.`) : null);
  };
  let upload = null;
  if (ctx.can("importData")) {
    const frm = form([
      { name: "kind", label: "What the file holds", type: "select", options: KINDS, required: true },
      { name: "encoding", label: "Encoding", type: "select", options: [["utf-8", "UTF-8"], ["gb18030", "GB18030 (Chinese Windows)"]] },
      { name: "file", label: "CSV file (header row first)", type: "file", accept: ".csv,text/csv", required: true },
    ], {
      submit: "Upload and import",
      onSubmit: async (vals) => {
        const fd = new FormData();
        fd.append("file", vals.file, vals.file.name);
        const job = await request("POST", BASE, { form: fd, query: { kind: vals.kind, encoding: vals.encoding || "utf-8" } });
        ctx.go("imports", [job.id]);
      },
    });
    frm.controls.kind.input.addEventListener("change", (ev) => showLayout(ev.target.value));
    upload = card("Upload a CSV file", frm,
      h("p", { class: "help" }, "Rows are validated one by one; good rows load in bulk and bad rows are listed with their line number and reason. Importing the same file again changes nothing."),
      layoutEl);
    get(`${BASE}/layouts`).then((data) => { layouts = listOf(data); showLayout(frm.controls.kind.input.value); }).catch(() => {});
  }
  const list = pagedTable(jobColumns(), (paging) => get(BASE, { ...paging }),
    { what: "Import history", empty: "No imports yet.", onRow: (r) => ctx.go("imports", [r.id]) });
  clear(el, page("Data imports", { subtitle: "Subscribers, monthly usage, bills, handsets and complaints exported by the billing system." }, upload, card("History", list)));
}

function jobColumns() {
  return [
    { key: "id", label: "Job", class: "num", render: (r) => h("a", { href: `#/imports/${r.id}` }, `#${r.id}`) },
    { key: "kind", label: "Kind" },
    { key: "filename", label: "File" },
    { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
    { key: "rows_total", label: "Rows", class: "num", render: (r) => fmt.int(r.rows_total) },
    { key: "rows_ok", label: "Good", class: "num", render: (r) => fmt.int(r.rows_ok) },
    { key: "rows_changed", label: "Changed", class: "num", render: (r) => fmt.int(r.rows_changed) },
    { key: "rows_bad", label: "Bad", class: "num", render: (r) => fmt.int(r.rows_bad) },
    { key: "created_at", label: "Started", class: "nowrap", render: (r) => fmt.time(r.created_at) },
  ];
}

async function renderJob(el, id) {
  const view = h("div", {}, loading());
  const csvMsg = h("div");
  const csvBtn = h("button", { class: "btn", id: "bad-rows-csv", onclick: async () => {
    clear(csvMsg);
    try { await download(`${BASE}/${encodeURIComponent(id)}/errors`, { format: "csv" }, `import-${id}-bad-rows.csv`); } catch (err) { clear(csvMsg, errorBox(err, "Bad-row CSV")); }
  } }, "Bad rows as CSV");
  clear(el, page(`Import #${id}`, { actions: [h("a", { class: "btn", href: "#/imports" }, "‹ All imports"), csvBtn] }, csvMsg, view));
  const tick = async () => {
    if (!el.isConnected) return;
    const j = await attempt(view, "Import job", () => get(`${BASE}/${encodeURIComponent(id)}`));
    if (!j) return;
    const total = Number(j.rows_total || 0);
    const processed = Number(j.rows_ok || 0) + Number(j.rows_bad || 0);
    const finished = FINISHED.has(String(j.status));
    const pct = finished ? 100 : total ? Math.min(99, Math.round((processed / total) * 100)) : 3;
    const errors = listOf(j.errors || []);
    clear(view,
      card("Progress",
        h("div", { class: "progress", role: "progressbar", "aria-valuenow": pct }, h("div", { style: `width:${pct}%` })),
        finished ? null : h("p", { class: "help" }, `Status ${j.status}; refreshing every second…`),
        kv([
          ["Status", statusBadge(j.status)], ["Kind", j.kind], ["File", j.filename], ["SHA-256", h("code", {}, fmt.text(j.sha256))],
          ["Rows read", fmt.int(j.rows_total)], ["Good rows", fmt.int(j.rows_ok)], ["Rows changed", fmt.int(j.rows_changed)],
          ["Bad rows", fmt.int(j.rows_bad)], ["Started", fmt.time(j.created_at)], ["Finished", fmt.time(j.finished_at)],
        ]),
        j.same_file_as ? notice("info", `The same file was imported before as job #${j.same_file_as}; `, h("a", { href: `#/imports/${j.same_file_as}` }, "see it"), ". Rows already present were left unchanged.") : null),
      card(`Bad rows (${fmt.int(j.rows_bad ?? errors.length)})`, errors.length
        ? table([
          { key: "line", label: "Line", class: "num", render: (r) => fmt.int(r.line) },
          { key: "reason", label: "Reason", class: "wrap", render: (r) => fmt.text(r.reason ?? r.error) },
        ], errors.slice(0, 500), {})
        : h("p", { class: "muted" }, finished ? "Every row was valid." : "None so far.")));
    if (!finished) setTimeout(tick, 1000);
  };
  await tick();
}
