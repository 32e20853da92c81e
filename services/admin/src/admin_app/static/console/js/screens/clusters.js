// Behavioural clusters (seed 003: segment by consumption behaviour): each cluster's size, what sets
// it apart (features in standard deviations from the population) and its name, which a strategist
// may change (the engine keeps a name it did not write). Beside them, customers per stability
// segment and lifecycle stage. API: GET /v1/engine/clusters, PATCH /v1/engine/clusters/{id},
// GET /v1/engine/segments.

import { get, listOf, patch } from "../api.js";
import { divergingBars } from "../charts.js";
import {
  SEGMENT_CODES, STAGE_CODES, SUB_SEGMENT_CODES, attempt, badge, card, clear, errorBox, fmt, form, h, label, labelOr,
  loading, notice, page, t, table,
} from "../ui.js";

// The engine's generated name is Chinese; in another language it is rebuilt from the description.
export function clusterName(c) {
  if (c.label_edited) return c.label;
  const strong = (c.description || []).filter((d) => Math.abs(Number(d.z)) >= 0.5).slice(0, 3);
  const parts = (strong.length ? strong : (c.description || []).slice(0, 2))
    .map((d) => t(d.direction === "high" ? "cl.high" : "cl.low", { feature: labelOr("cluster_feature", d.feature) }));
  return parts.length ? fmt.allOf(parts) : c.label;
}

export async function render(el, { ctx }) {
  clear(el, loading());
  const data = await attempt(el, t("nav.clusters"), () => get("/v1/engine/clusters"));
  if (!data) return;
  const clusters = listOf(data);
  const total = clusters.reduce((a, c) => a + Number(c.population || 0), 0);
  const msg = h("div");
  const segEl = h("div", { class: "card", id: "segment-table" }, loading());
  const cards = clusters.map((c) => {
    const editor = h("div");
    const rename = ctx.can("nameCluster") ? h("button", { class: "btn small", dataset: { cluster: c.cluster_id }, onclick: () => {
      clear(editor, form([{ name: "label", label: t("cl.new_name"), required: true, value: c.label_edited ? c.label : clusterName(c) }], {
        submit: t("cl.save_name"),
        cancel: () => clear(editor),
        onSubmit: async (vals) => {
          await patch(`/v1/engine/clusters/${c.cluster_id}`, { label: vals.label });
          await render(el, { ctx });
          el.prepend(notice("ok", t("cl.renamed", { id: c.cluster_id, name: vals.label })));
        },
      }));
    } }, t("cl.rename")) : null;
    const features = (c.description || []).map((d) => ({ label: labelOr("cluster_feature", d.feature), value: Number(d.z) }));
    return h("div", { class: "card cluster", dataset: { cluster: c.cluster_id } },
      h("div", { class: "card-head" },
        h("h2", {}, t("cl.title", { id: c.cluster_id, name: clusterName(c) })),
        c.label_edited ? badge(t("cl.named"), "info") : badge(t("cl.generated"), "muted")),
      h("div", { class: "stats" },
        h("div", { class: "stat" }, h("div", { class: "label" }, t("cl.population")), h("div", { class: "value" }, fmt.int(c.population)),
          h("div", { class: "note" }, total ? t("cl.share", { share: fmt.pct(c.population / total, 1) }) : null)),
        h("div", { class: "stat" }, h("div", { class: "label" }, t("cl.sample")), h("div", { class: "value small" }, fmt.int(c.sample_size)),
          h("div", { class: "note" }, t("cl.fitted", { date: fmt.date(c.fitted_at) })))),
      divergingBars({ title: t("cl.features"), data: features, caption: t("cl.features_help") }),
      h("div", { class: "actions" }, rename), editor);
  });
  clear(el, page(t("nav.clusters"), { subtitle: t("cl.subtitle") },
    msg,
    clusters.length ? h("div", { class: "grid" }, cards) : card(null, h("p", { class: "muted", id: "no-clusters" }, t("cl.none"))),
    segEl));
  drawSegments(segEl, ctx);
}

async function drawSegments(el, ctx) {
  if (!ctx.can("readSegments")) { clear(el); return; }
  try {
    const rows = listOf(await get("/v1/engine/segments"));
    const key = (r) => `${r.segment || ""}|${r.sub_segment || ""}`;
    const bySeg = new Map();
    for (const r of rows) {
      const k = key(r);
      if (!bySeg.has(k)) bySeg.set(k, { segment: r.segment, sub_segment: r.sub_segment, total: 0, stages: {} });
      const row = bySeg.get(k);
      row.total += Number(r.customers || 0);
      row.stages[r.lifecycle_stage || "none"] = (row.stages[r.lifecycle_stage || "none"] || 0) + Number(r.customers || 0);
    }
    const order = (r) => [SEGMENT_CODES.indexOf(r.segment), SUB_SEGMENT_CODES.indexOf(r.sub_segment)];
    const sorted = [...bySeg.values()].sort((a, b) => { const [x1, y1] = order(a); const [x2, y2] = order(b); return x1 - x2 || y1 - y2; });
    clear(el, h("h2", {}, t("cl.segments")), h("p", { class: "help" }, t("cl.segments_help")), table([
      { key: "segment", label: t("cl.segment"), render: (r) => (r.segment ? label("segment", r.segment) : t("dash.not_segmented")) },
      { key: "sub_segment", label: t("cl.sub_segment"), render: (r) => (r.sub_segment ? label("sub_segment", r.sub_segment) : "—") },
      ...STAGE_CODES.map((s) => ({ key: s, label: label("stage", s), class: "num", render: (r) => fmt.int(r.stages[s] || 0) })),
      { key: "total", label: t("cl.total"), class: "num", render: (r) => fmt.int(r.total) },
    ], sorted, { empty: t("cl.no_segments") }));
  } catch (err) {
    clear(el, h("h2", {}, t("cl.segments")), errorBox(err, t("cl.segments")));
  }
}
