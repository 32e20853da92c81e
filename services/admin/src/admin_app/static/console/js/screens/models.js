// Churn model registry: versions with measured quality, factor ranking, activation, training.
// API: GET /v1/models, POST /v1/models/train (202, runs in the background),
// POST /v1/models/{version}/activate.

import { get, listOf, post } from "../api.js";
import { hbars, lines } from "../charts.js";
import { attempt, card, clear, errorBox, fmt, h, loading, notice, page, statusBadge, table } from "../ui.js";

const BASE = "/v1/models";
const METRICS = ["roc_auc", "auc", "top_decile_lift", "precision_at_capacity", "brier_calibrated", "base_rate"];
const METRIC_LABEL = { roc_auc: "ROC AUC", auc: "AUC", top_decile_lift: "Top-decile lift", precision_at_capacity: "Precision at capacity", brier_calibrated: "Brier", base_rate: "Base rate" };

export async function render(el, { query, ctx }) {
  clear(el, loading());
  const data = await attempt(el, "Model registry", () => get(BASE));
  if (!data) return;
  const models = listOf(data).sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
  const msg = h("div");
  const metricKeys = METRICS.filter((k) => models.some((m) => m.metrics && m.metrics[k] !== undefined && m.metrics[k] !== null));
  const columns = [
    { key: "version", label: "Version", render: (r) => h("a", { href: `#/models?version=${r.version}` }, `v${r.version}`) },
    { key: "algorithm", label: "Algorithm" },
    { key: "trained", label: "Training window", class: "nowrap", render: (r) => `${fmt.date(r.train_from)} → ${fmt.date(r.train_to)}` },
    ...metricKeys.map((k) => ({ key: k, label: METRIC_LABEL[k] || k, class: "num", render: (r) => fmt.num(r.metrics?.[k], 3) })),
    { key: "created_at", label: "Created", class: "nowrap", render: (r) => fmt.date(r.created_at) },
    { key: "active", label: "Active", render: (r) => statusBadge(Boolean(r.active)) },
    { key: "act", label: "", render: (r) => (ctx.can("activateModel") && !r.active ? h("button", { class: "btn small primary", dataset: { version: r.version }, onclick: async (ev) => {
      if (!window.confirm(`Activate model v${r.version}? The nightly run scores customers with it from now on.`)) return;
      ev.target.disabled = true;
      try {
        await post(`${BASE}/${r.version}/activate`, {});
        await render(el, { query, ctx });
        el.prepend(notice("ok", `Model v${r.version} is now active.`));
      } catch (err) {
        clear(msg, errorBox(err, "Model activation"));
        ev.target.disabled = false;
      }
    } }, "Activate") : "") },
  ];
  const actions = ctx.can("trainModel") ? [h("button", { class: "btn", id: "train-model", onclick: async (ev) => {
    ev.target.disabled = true;
    clear(msg, loading("Starting training…"));
    try {
      const r = await post(`${BASE}/train`, { activate: false });
      clear(msg, notice("ok", `Training started: ${r.detail || "the new version appears here when it ends"}.`));
    } catch (err) {
      clear(msg, errorBox(err, "Model training"));
    } finally {
      ev.target.disabled = false;
    }
  } }, "Train a new version")] : [];

  const chosen = models.find((m) => String(m.version) === String(query.version)) || models.find((m) => m.active) || models[0];
  const chrono = [...models].reverse();
  const children = [msg, card("Versions", table(columns, models, { empty: "No model has been trained yet." }))];
  if (chosen) {
    const ranking = (chosen.factor_ranking || []).slice(0, 12).map((f) => ({ label: f.factor ?? f.name, value: f.information_gain ?? f.gain ?? f.weight ?? 0 }));
    const trend = metricKeys.filter((k) => k !== "top_decile_lift" && k !== "base_rate");
    children.push(h("div", { class: "cols" },
      card(`Churn factors by information gain (v${chosen.version})`, hbars({ title: null, data: ranking, format: (v) => v.toFixed(3) })),
      card("Quality over versions", trend.length
        ? lines({ title: null, labels: chrono.map((m) => `v${m.version}`), series: trend.map((k) => ({ name: METRIC_LABEL[k] || k, values: chrono.map((m) => m.metrics?.[k] ?? null) })), yMax: 1, format: (v) => v.toFixed(2) })
        : h("p", { class: "muted" }, "No metrics recorded."))));
  }
  clear(el, page("Churn models", { subtitle: "Versions of the churn early-warning model, their out-of-time quality and which one scores customers.", actions }, ...children));
}
