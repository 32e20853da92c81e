// Churn model registry: versions with measured quality, factor ranking, activation, training.
// API: GET /v1/models, POST /v1/models/train (202, runs in the background),
// POST /v1/models/{version}/activate.

import { get, listOf, post } from "../api.js";
import { hbars, lines } from "../charts.js";
import { attempt, card, clear, errorBox, fmt, h, label, labelOr, loading, notice, page, statusBadge, t, table } from "../ui.js";

const BASE = "/v1/models";
const METRICS = ["roc_auc", "auc", "top_decile_lift", "precision_at_capacity", "brier_calibrated", "base_rate"];

export async function render(el, { query, ctx }) {
  clear(el, loading());
  const data = await attempt(el, t("model.registry"), () => get(BASE));
  if (!data) return;
  const models = listOf(data).sort((a, b) => (b.version ?? 0) - (a.version ?? 0));
  const msg = h("div");
  const metricKeys = METRICS.filter((k) => models.some((m) => m.metrics && m.metrics[k] !== undefined && m.metrics[k] !== null));
  const columns = [
    { key: "version", label: t("model.version"), render: (r) => h("a", { href: `#/models?version=${r.version}` }, `v${r.version}`) },
    { key: "algorithm", label: t("model.algorithm"), render: (r) => labelOr("algorithm", r.algorithm) },
    { key: "trained", label: t("model.window"), class: "nowrap", render: (r) => `${fmt.date(r.train_from)} → ${fmt.date(r.train_to)}` },
    ...metricKeys.map((k) => ({ key: k, label: label("metric", k), class: "num", render: (r) => fmt.num(r.metrics?.[k], 3) })),
    { key: "created_at", label: t("model.created"), class: "nowrap", render: (r) => fmt.date(r.created_at) },
    { key: "active", label: t("model.active"), render: (r) => statusBadge(Boolean(r.active)) },
    { key: "act", label: "", render: (r) => (ctx.can("activateModel") && !r.active ? h("button", { class: "btn small primary", dataset: { version: r.version }, onclick: async (ev) => {
      if (!window.confirm(t("model.activate_confirm", { v: r.version }))) return;
      ev.target.disabled = true;
      try {
        await post(`${BASE}/${r.version}/activate`, {});
        await render(el, { query, ctx });
        el.prepend(notice("ok", t("model.activated", { v: r.version })));
      } catch (err) {
        clear(msg, errorBox(err, t("model.activation")));
        ev.target.disabled = false;
      }
    } }, t("model.activate")) : "") },
  ];
  const actions = ctx.can("trainModel") ? [h("button", { class: "btn", id: "train-model", onclick: async (ev) => {
    ev.target.disabled = true;
    clear(msg, loading(t("model.starting")));
    try {
      const r = await post(`${BASE}/train`, { activate: false });
      clear(msg, notice("ok", t("model.started", { detail: r.detail || t("model.started_default") })));
    } catch (err) {
      clear(msg, errorBox(err, t("model.training")));
    } finally {
      ev.target.disabled = false;
    }
  } }, t("model.train"))] : [];

  const chosen = models.find((m) => String(m.version) === String(query.version)) || models.find((m) => m.active) || models[0];
  const chrono = [...models].reverse();
  const children = [msg, card(t("model.versions"), table(columns, models, { empty: t("model.none") }))];
  if (chosen) {
    const ranking = (chosen.factor_ranking || []).slice(0, 12).map((f) => ({ label: labelOr("field", f.factor ?? f.name), value: f.information_gain ?? f.gain ?? f.weight ?? 0 }));
    const trend = metricKeys.filter((k) => k !== "top_decile_lift" && k !== "base_rate");
    children.push(h("div", { class: "cols" },
      card(t("model.factors", { v: chosen.version }), hbars({ title: null, data: ranking, format: (v) => fmt.num(v, 3) })),
      card(t("model.quality"), trend.length
        ? lines({ title: null, labels: chrono.map((m) => `v${m.version}`), series: trend.map((k) => ({ name: label("metric", k), values: chrono.map((m) => m.metrics?.[k] ?? null) })), yMax: 1, format: (v) => fmt.num(v, 2) })
        : h("p", { class: "muted" }, t("model.no_metrics")))));
  }
  clear(el, page(t("nav.models"), { subtitle: t("model.subtitle"), actions }, ...children));
}
