// Background jobs: the worker's queue (status, attempts, progress, last error), the retry of a
// failed job, and the periodic schedules (cron in local time, pause / resume).
// API: GET /v1/jobs?status=&task=, GET /v1/jobs/{id}, POST /v1/jobs/{id}/retry,
// GET /v1/jobs/schedules, PUT /v1/jobs/schedules/{name}, GET /v1/imports/{id} (an import's quality).

import { get, listOf, post, put } from "../api.js";
import { attempt, badge, card, clear, errorBox, filters, fmt, h, kv, label, loading, notice, options, page, pagedTable, t, table } from "../ui.js";
import { qualityCard } from "./imports.js";

const BASE = "/v1/jobs";
export const JOB_STATUSES = ["todo", "doing", "succeeded", "failed", "cancelled", "aborted"];
export const JOB_TASKS = [
  "imports.run", "engine.run", "campaigns.launch_due", "campaigns.dispatch", "points.expire", "points.accrue",
  "webhooks.deliver", "statements.settlements", "statements.incentives", "rebates.post", "plan_changes.apply", "jobs.tick",
  "jobs.purge", "models.train",
];
const LIVE = new Set(["todo", "doing"]);
const KIND = { todo: "muted", doing: "info", succeeded: "ok", failed: "bad", cancelled: "muted", aborted: "warn" };

export function jobStatus(status) {
  return badge(label("job_status", status), KIND[String(status)] || "");
}

function bar(progress, id) {
  const pct = Math.round(Math.max(0, Math.min(1, Number(progress) || 0)) * 100);
  return h("span", { class: "progress-cell" },
    h("span", { class: "progress mini", role: "progressbar", "aria-valuenow": pct, id }, h("div", { style: `width:${pct}%` })),
    h("span", { class: "num" }, `${pct}%`));
}

// The job's own report in one short line (import_id, run_id, stage, its result once done).
function brief(detail) {
  const pairs = Object.entries(detail || {}).map(([k, v]) => `${k}: ${typeof v === "object" && v !== null ? JSON.stringify(v) : v}`);
  const text = pairs.join(" · ");
  return text.length > 140 ? `${text.slice(0, 140)}…` : text || "—";
}

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderJob(el, args[0], ctx);
  const filterBar = filters([
    { name: "status", label: t("jobs.status"), type: "select", options: options("job_status", JOB_STATUSES) },
    { name: "task", label: t("jobs.task"), type: "select", options: options("job_task", JOB_TASKS) },
  ], query, (vals) => ctx.go("jobs", [], vals));
  const listMsg = h("div", { id: "jobs-status" });
  let list = null;
  const retry = async (ev, job) => {
    ev.target.disabled = true;
    clear(listMsg);
    try {
      await post(`${BASE}/${encodeURIComponent(job.id)}/retry`);
      clear(listMsg, notice("ok", t("jobs.retried", { id: job.id })));
      await list.reload();
    } catch (err) {
      clear(listMsg, errorBox(err, t("jobs.retry")));
      ev.target.disabled = false;
    }
  };
  const columns = [
    { key: "id", label: t("jobs.job"), class: "num", render: (r) => h("a", { href: `#/jobs/${r.id}` }, `#${r.id}`) },
    { key: "task", label: t("jobs.task"), render: (r) => label("job_task", r.task) },
    { key: "status", label: t("jobs.status"), render: (r) => jobStatus(r.status) },
    { key: "attempts", label: t("jobs.attempts"), class: "num", render: (r) => fmt.int(r.attempts) },
    { key: "progress", label: t("jobs.progress"), class: "nowrap", render: (r) => bar(r.progress) },
    { key: "detail", label: t("jobs.detail"), class: "wrap", render: (r) => brief(r.detail) },
    { key: "last_error", label: t("jobs.last_error"), class: "wrap", render: (r) => fmt.text(r.last_error) },
    { key: "queued_at", label: t("jobs.created"), class: "nowrap", render: (r) => fmt.time(r.queued_at) },
    { key: "updated_at", label: t("jobs.updated"), class: "nowrap", render: (r) => fmt.time(r.updated_at) },
    { key: "actions", label: "", render: (r) => (r.can_retry && ctx.can("retryJob")
      ? h("button", { class: "btn small", dataset: { retry: r.id }, onclick: (ev) => retry(ev, r) }, t("jobs.retry")) : "") },
  ];
  list = pagedTable(columns, (paging) => get(BASE, { ...paging, status: query.status, task: query.task }),
    { what: t("jobs.queue"), empty: t("jobs.none"), onRow: (r) => ctx.go("jobs", [r.id]) });
  const schedulesEl = h("div", { id: "schedules" }, loading());
  clear(el, page(t("nav.jobs"), { subtitle: t("jobs.subtitle"), actions: [h("button", { class: "btn", id: "jobs-refresh", onclick: () => list.reload() }, t("jobs.refresh"))] },
    card(t("jobs.queue"), filterBar, listMsg, list),
    card(t("jobs.schedules"), h("p", { class: "help" }, t("jobs.schedules_help")), schedulesEl)));
  await drawSchedules(schedulesEl, ctx);
}

async function drawSchedules(el, ctx) {
  const rows = await attempt(el, t("jobs.schedules"), () => get(`${BASE}/schedules`));
  if (!rows) return;
  const editable = ctx.can("editSchedule");
  const status = h("div", { id: "schedule-status" });
  const save = async (ev, row, cronInput, enabledInput) => {
    ev.target.disabled = true;
    clear(status);
    try {
      const out = await put(`${BASE}/schedules/${encodeURIComponent(row.name)}`, { cron: cronInput.value, enabled: enabledInput.checked });
      await drawSchedules(el, ctx);
      el.prepend(notice("ok", t("jobs.schedule_saved", { name: out.name, next: fmt.time(out.next_at) })));
    } catch (err) {
      clear(status, errorBox(err, t("jobs.schedules")));
      ev.target.disabled = false;
    }
  };
  clear(el, status, table([
    { key: "name", label: t("jobs.schedule"), render: (r) => h("span", {}, h("code", {}, r.name), r.description ? h("div", { class: "help" }, r.description) : null) },
    { key: "task", label: t("jobs.task"), render: (r) => label("job_task", r.task) },
    { key: "cron", label: t("jobs.cron"), render: (r) => (editable
      ? h("input", { class: "mono", name: "cron", value: r.cron, dataset: { schedule: r.name }, "aria-label": t("jobs.cron") })
      : h("code", {}, r.cron)) },
    { key: "enabled", label: t("jobs.enabled"), render: (r) => (editable
      ? h("input", { type: "checkbox", name: "enabled", checked: r.enabled, dataset: { schedule: r.name }, "aria-label": t("jobs.enabled") })
      : (r.enabled ? t("ui.yes") : t("ui.no"))) },
    { key: "next_at", label: t("jobs.next_at"), class: "nowrap", render: (r) => (r.enabled ? fmt.time(r.next_at) : t("jobs.paused")) },
    { key: "last_fired_at", label: t("jobs.last_fired"), class: "nowrap", render: (r) => (r.last_job_id
      ? h("a", { href: `#/jobs/${r.last_job_id}` }, fmt.time(r.last_fired_at)) : fmt.time(r.last_fired_at)) },
    { key: "actions", label: "", render: (r) => (editable ? h("button", { class: "btn small primary", dataset: { save: r.name }, onclick: (ev) => {
      const tr = ev.target.closest("tr");
      save(ev, r, tr.querySelector("input[name=cron]"), tr.querySelector("input[name=enabled]"));
    } }, t("ui.save")) : "") },
  ], listOf(rows), { empty: t("jobs.no_schedules") }));
}

async function renderJob(el, id, ctx) {
  const view = h("div", {}, loading());
  clear(el, page(t("jobs.title", { id }), { actions: [h("a", { class: "btn", href: "#/jobs" }, t("jobs.all"))] }, view));
  const tick = async () => {
    if (!el.isConnected) return;
    const j = await attempt(view, t("jobs.job_what"), () => get(`${BASE}/${encodeURIComponent(id)}`));
    if (!j) return;
    const importId = j.detail && j.detail.import_id ? j.detail.import_id : j.args && j.args.import_id;
    let imp = null;
    if (importId && ctx.can("readImports")) imp = await get(`/v1/imports/${encodeURIComponent(importId)}`).catch(() => null);
    const msg = h("div");
    const retryBtn = j.can_retry && ctx.can("retryJob") ? h("button", { class: "btn primary", id: "job-retry", onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        await post(`${BASE}/${encodeURIComponent(j.id)}/retry`);
        await tick();
      } catch (err) {
        clear(msg, errorBox(err, t("jobs.retry")));
        ev.target.disabled = false;
      }
    } }, t("jobs.retry")) : null;
    clear(view,
      card(t("jobs.progress"),
        bar(j.progress, "job-progress"),
        LIVE.has(j.status) ? h("p", { class: "help" }, t("jobs.refreshing")) : null,
        kv([
          [t("jobs.task"), label("job_task", j.task)], [t("jobs.status"), jobStatus(j.status)], [t("jobs.attempts"), fmt.int(j.attempts)],
          [t("jobs.created"), fmt.time(j.queued_at)], [t("jobs.started"), fmt.time(j.started_at)], [t("jobs.finished"), fmt.time(j.finished_at)],
          [t("jobs.updated"), fmt.time(j.updated_at)], [t("jobs.scheduled_at"), fmt.time(j.scheduled_at)],
          [t("jobs.detail"), h("code", { class: "wrap" }, fmt.text(j.detail))], [t("jobs.args"), h("code", { class: "wrap" }, fmt.text(j.args))],
          importId ? [t("jobs.import"), h("a", { href: `#/imports/${importId}` }, `#${importId}`)] : null,
        ].filter(Boolean)),
        j.last_error ? notice("error", h("strong", {}, t("jobs.last_error")), " ", h("span", { id: "job-error" }, j.last_error)) : null,
        msg, retryBtn),
      imp && imp.quality && Object.keys(imp.quality).length ? qualityCard(imp.quality) : null);
    if (LIVE.has(j.status)) setTimeout(tick, 2000);
  };
  await tick();
}
