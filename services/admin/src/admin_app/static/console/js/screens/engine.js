// The nightly retention engine: start a run (it runs in its own process), follow each stage's
// progress, read the history; the engine's thresholds and the holiday calendar for greetings.
// API: GET/POST /v1/engine/runs, GET /v1/engine/runs/{id}, GET/PUT /v1/engine/settings/{key},
// GET/PUT/DELETE /v1/holidays/{day}.

import { del, get, listOf, post, put } from "../api.js";
import {
  attempt, badge, card, clear, errorBox, fmt, form, h, kv, label, loading, notice, page, statusBadge, t, table, tabs,
} from "../ui.js";

const STAGES = ["features", "tiers", "churn", "clusters", "four_high", "profiles", "tags", "strategies", "assignment", "care_tasks"];
const SETTING_KEYS = ["contact_pressure", "segments", "assignment", "clusters", "care", "retention_budget"];
const LIVE = new Set(["queued", "running"]);

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderRun(el, args[0], ctx);
  const available = [["runs", t("eng.tab.runs")]];
  if (ctx.can("readEngineSettings")) available.push(["settings", t("eng.tab.settings")]);
  available.push(["holidays", t("eng.tab.holidays")]);
  const tab = available.some(([id]) => id === query.tab) ? query.tab : "runs";
  const body = h("div", {}, loading());
  clear(el, page(t("nav.engine"), { subtitle: t("eng.subtitle") },
    tabs(available, tab, (id) => ctx.go("engine", [], { tab: id })), body));
  if (tab === "settings") return settingsTab(body, ctx);
  if (tab === "holidays") return holidaysTab(body, ctx);
  return runsTab(body, ctx);
}

function duration(run) {
  if (!run.finished_at) return "—";
  const s = (new Date(run.finished_at) - new Date(run.created_at)) / 1000;
  return t("unit.seconds", { s: fmt.num(Math.max(0, s), s < 10 ? 1 : 0) });
}

async function runsTab(body, ctx) {
  const rows = await attempt(body, t("eng.history"), () => get("/v1/engine/runs", { limit: 50 }));
  if (!rows) return;
  const starter = ctx.can("startRun") ? card(t("eng.start"), h("p", { class: "help" }, t("eng.start_help")), form([
    { name: "run_date", label: t("eng.run_date"), type: "date", help: t("eng.run_date_help") },
    { name: "stages", label: t("eng.only_stages"), type: "select", options: [["", t("eng.all_stages")], ...STAGES.map((s) => [s, label("engine_stage", s)])] },
  ], {
    submit: t("eng.start_button"),
    onSubmit: async (vals) => {
      const run = await post("/v1/engine/runs", { run_date: vals.run_date || undefined, stages: vals.stages ? [vals.stages] : undefined });
      ctx.go("engine", [run.id]);
    },
  })) : null;
  clear(body, starter, card(t("eng.history"), table([
    { key: "id", label: t("eng.run"), class: "num", render: (r) => h("a", { href: `#/engine/${r.id}` }, `#${r.id}`) },
    { key: "run_date", label: t("eng.run_date_short"), class: "nowrap", render: (r) => fmt.date(r.run_date) },
    { key: "status", label: t("eng.status"), render: (r) => statusBadge(r.status) },
    { key: "created_at", label: t("eng.started"), class: "nowrap", render: (r) => fmt.time(r.created_at) },
    { key: "finished_at", label: t("eng.finished"), class: "nowrap", render: (r) => fmt.time(r.finished_at) },
    { key: "duration", label: t("eng.duration"), class: "num", render: (r) => duration(r) },
  ], listOf(rows), { empty: t("eng.none"), onRow: (r) => ctx.go("engine", [r.id]) })));
}

async function renderRun(el, id, ctx) {
  const view = h("div", {}, loading());
  clear(el, page(t("eng.run_title", { id }), { subtitle: t("eng.run_subtitle"), actions: [h("a", { class: "btn", href: "#/engine" }, t("eng.all"))] }, view));
  const tick = async () => {
    if (!el.isConnected) return;
    const run = await attempt(view, t("eng.run_what"), () => get(`/v1/engine/runs/${encodeURIComponent(id)}`));
    if (!run) return;
    const pct = Math.round((run.progress || 0) * 100);
    const stageBadge = (s) => (s.status === "pending" ? badge(t("eng.pending"), "muted") : statusBadge(s.status));
    clear(view,
      card(t("eng.progress"),
        h("div", { class: "progress", role: "progressbar", "aria-valuenow": pct, id: "run-progress" }, h("div", { style: `width:${pct}%` })),
        h("p", { class: "help" }, LIVE.has(run.status) ? t("eng.refreshing", { pct }) : t("eng.progress_done", { pct })),
        kv([
          [t("eng.status"), statusBadge(run.status)], [t("eng.run_date_short"), fmt.date(run.run_date)],
          [t("eng.started"), fmt.time(run.created_at)], [t("eng.finished"), fmt.time(run.finished_at)],
          [t("eng.duration"), duration(run)],
        ]),
        run.error ? notice("error", h("strong", {}, t("eng.error")), " ", run.error) : null),
      card(t("eng.stages"), table([
        { key: "stage", label: t("eng.stage"), render: (s) => label("engine_stage", s.stage) },
        { key: "status", label: t("eng.status"), render: stageBadge },
        { key: "rows", label: t("eng.rows"), class: "num", render: (s) => fmt.int(s.rows) },
        { key: "seconds", label: t("eng.seconds"), class: "num", render: (s) => fmt.num(s.seconds, 1) },
        { key: "started_at", label: t("eng.started"), class: "nowrap", render: (s) => fmt.time(s.started_at) },
      ], run.stages || [])));
    if (LIVE.has(run.status)) setTimeout(tick, 2000);
  };
  await tick();
}

async function settingsTab(body, ctx) {
  const cards = await Promise.all(SETTING_KEYS.map(async (key) => {
    const el = h("div", { dataset: { setting: key } });
    await drawSetting(el, key, ctx);
    return el;
  }));
  clear(body, h("p", { class: "help" }, t("eng.settings_help")), h("div", { class: "grid" }, cards));
}

async function drawSetting(el, key, ctx) {
  let current;
  try {
    current = await get(`/v1/engine/settings/${key}`);
  } catch (err) {
    clear(el, card(t(`eng.setting.${key}`), errorBox(err)));
    return;
  }
  const members = Object.keys(current);
  const fen = (m) => m.endsWith("_fen");
  const name = (m) => t(`enum.setting.${key}.${m}`);
  if (!ctx.can("editEngineSettings")) {
    clear(el, card(t(`eng.setting.${key}`), kv(members.map((m) => [name(m), fen(m) ? fmt.fen(current[m]) : fmt.text(current[m])]))));
    return;
  }
  clear(el, card(t(`eng.setting.${key}`), form(members.map((m) => ({
    name: m, label: fen(m) ? t("fh.in_yuan", { label: name(m) }) : name(m), type: "number", step: "any",
    value: fen(m) ? current[m] / 100 : current[m], required: true,
  })), {
    submit: t("ui.save"),
    onSubmit: async (vals) => {
      await put(`/v1/engine/settings/${key}`, Object.fromEntries(members.map((m) => [m, fen(m) ? Math.round(vals[m] * 100) : vals[m]])));
      await drawSetting(el, key, ctx);
      el.prepend(notice("ok", t("eng.setting_saved")));
    },
  })));
}

async function holidaysTab(body, ctx) {
  const year = new Date().getFullYear();
  const rows = await attempt(body, t("eng.tab.holidays"), () => get("/v1/holidays", { year }));
  if (!rows) return;
  const editable = ctx.can("editEngineSettings");
  const list = table([
    { key: "day", label: t("eng.day"), class: "nowrap", render: (r) => fmt.date(r.day) },
    { key: "name", label: t("eng.holiday") },
    { key: "greeting_template", label: t("eng.greeting"), class: "wrap" },
    { key: "actions", label: "", render: (r) => (editable ? h("button", { class: "btn small danger", dataset: { day: r.day }, onclick: async (ev) => {
      if (!window.confirm(t("eng.delete_holiday_confirm", { name: r.name }))) return;
      ev.target.disabled = true;
      try {
        await del(`/v1/holidays/${r.day}`);
        await holidaysTab(body, ctx);
      } catch (err) {
        body.prepend(errorBox(err));
        ev.target.disabled = false;
      }
    } }, t("eng.delete")) : "") },
  ], listOf(rows), { empty: t("eng.no_holidays") });
  const adder = editable ? card(t("eng.add_holiday"), form([
    { name: "day", label: t("eng.day"), type: "date", required: true },
    { name: "name", label: t("eng.holiday"), required: true },
    { name: "greeting_template", label: t("eng.greeting"), type: "textarea", wide: true, required: true, help: t("eng.greeting_help") },
  ], {
    submit: t("eng.add"),
    onSubmit: async (vals) => {
      await put(`/v1/holidays/${vals.day}`, { name: vals.name, greeting_template: vals.greeting_template });
      await holidaysTab(body, ctx);
      body.prepend(notice("ok", t("eng.holiday_saved", { name: vals.name })));
    },
  })) : null;
  clear(body, card(t("eng.holidays_year", { year }), list), adder);
}
