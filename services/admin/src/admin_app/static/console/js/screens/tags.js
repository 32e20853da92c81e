// Tag catalogue by family; add or edit a declarative rule (a condition tree the engine compiles
// through a whitelist, never raw SQL) and preview how many customers it matches.
// API: GET /v1/tags?family=, GET /v1/tags/fields, POST /v1/tags, PATCH /v1/tags/{id},
// POST /v1/tags/preview {rule}.

import { get, listOf, patch, post } from "../api.js";
import { loadFields, ruleBuilder } from "../rulebuilder.js";
import { card, clear, errorBox, fmt, form, h, label, labelOr, loading, notice, options, page, pagedTable, statusBadge, t, table, tabs } from "../ui.js";

const BASE = "/v1/tags";
const FAMILIES = ["basic", "stability", "preference", "channel"];
const EXAMPLE_RULE = { all: [{ field: "data_mb", op: ">=", value: 20480 }, { field: "tier", op: "in", value: ["gold", "diamond"] }] };

export async function render(el, { query, ctx }) {
  const family = FAMILIES.includes(query.family) ? query.family : "basic";
  const editor = h("div", { id: "tag-editor" });
  const list = pagedTable([
    { key: "code", label: t("tag.code"), render: (r) => h("code", {}, r.code) },
    { key: "name", label: t("tag.name") },
    { key: "description", label: t("tag.description"), class: "wrap" },
    { key: "customers", label: t("tag.customers"), class: "num", render: (r) => fmt.int(r.customers) },
    { key: "builtin", label: t("tag.builtin"), render: (r) => statusBadge(Boolean(r.builtin)) },
    { key: "active", label: t("tag.active"), render: (r) => statusBadge(Boolean(r.active)) },
    { key: "version", label: t("tag.version"), class: "num" },
    { key: "edit", label: "", render: (r) => h("button", { class: "btn small", dataset: { tag: r.code }, onclick: () => openEditor(editor, r, family, list, ctx) }, ctx.can("editTag") ? t("ui.edit") : t("ui.view")) },
  ], (paging) => get(BASE, { family, ...paging }), { what: t("tag.catalogue"), empty: t("tag.none"), pageSize: 50 });
  const actions = ctx.can("editTag") ? [h("button", { class: "btn primary", id: "new-tag", onclick: () => openEditor(editor, null, family, list, ctx) }, t("tag.new"))] : [];
  clear(el, page(t("nav.tags"), { subtitle: t("tag.subtitle"), actions },
    tabs(options("family", FAMILIES), family, (id) => ctx.go("tags", [], { family: id })),
    editor, list));
}

async function fieldsHelp() {
  try {
    const fields = listOf(await get(`${BASE}/fields`));
    return h("details", {}, h("summary", {}, t("tag.fields", { n: fields.length })),
      table([
        { key: "field", label: t("tag.field"), render: (f) => h("span", {}, labelOr("field", f.field), " ", h("code", {}, f.field)) },
        { key: "type", label: t("tag.type"), render: (f) => label("field_type", f.type) },
        { key: "operators", label: t("tag.operators"), class: "wrap", render: (f) => fmt.anyOf((f.operators || []).map((op) => label("op", op))) },
      ], fields));
  } catch (err) {
    return null;
  }
}

async function openEditor(editor, row, family, list, ctx) {
  const editable = ctx.can("editTag");
  const preview = h("div", { class: "preview", id: "tag-preview" });
  clear(editor, loading());
  const meta = await loadFields();
  const count = async (rule) => t("tag.matches", { count: (await post(`${BASE}/preview`, { rule })).customers });
  const builder = ruleBuilder({ rule: row?.rule ?? EXAMPLE_RULE, meta, count, id: "rule" });
  const fields = [
    row ? null : { name: "code", label: t("tag.code"), required: true, placeholder: "lower_snake_case" },
    { name: "name", label: t("tag.name"), required: true, value: row?.name },
    { name: "family", label: t("tag.family"), type: "select", options: options("family", FAMILIES), value: row?.family || family },
    row ? { name: "active", label: t("tag.active"), type: "checkbox", value: row.active } : null,
    { name: "description", label: t("tag.description"), type: "textarea", wide: true, rows: 2, value: row?.description },
    { name: "rule", label: t("tag.rule"), type: "custom", element: builder.el, read: builder.value, wide: true, required: true, help: t("tag.rule_help") },
  ].filter(Boolean);
  const frm = form(fields, {
    submit: row ? t("tag.save") : t("tag.create"),
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      const body = { ...vals };
      if (body.description === null) delete body.description;
      if (row) await patch(`${BASE}/${row.id}`, body);
      else await post(BASE, body);
      clear(editor, notice("ok", row ? t("tag.saved", { code: row.code }) : t("tag.created", { code: vals.code })));
      list.reload();
    },
  });
  if (!editable) frm.querySelector("button[type=submit]").remove();
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-tag", onclick: async () => {
    let rule;
    try { rule = builder.value(); } catch (e) { clear(preview, notice("error", e.message)); return; }
    clear(preview, loading(t("ui.counting")));
    try {
      clear(preview, notice("info", await count(rule)));
    } catch (err) {
      clear(preview, errorBox(err, t("tag.preview_what")));
    }
  } }, t("tag.preview"));
  const title = row ? t(editable ? "tag.edit_title" : "tag.view_title", { code: row.code }) + (row.builtin ? ` ${t("tag.builtin_note")}` : "") : t("tag.new");
  clear(editor, card(title, frm, h("div", { class: "actions" }, previewBtn), preview, await fieldsHelp()));
  editor.scrollIntoView({ block: "start" });
}
