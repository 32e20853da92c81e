// Tag catalogue by family; add or edit a declarative rule (a JSON condition tree the engine
// compiles through a whitelist, never raw SQL) and preview how many customers it matches.
// API: GET /v1/tags?family=, GET /v1/tags/fields, POST /v1/tags, PATCH /v1/tags/{id},
// POST /v1/tags/preview {rule}.

import { get, listOf, patch, post } from "../api.js";
import { card, clear, errorBox, fmt, form, h, loading, notice, page, pagedTable, statusBadge, table, tabs } from "../ui.js";

const BASE = "/v1/tags";
const FAMILIES = [["basic", "Basic attributes"], ["stability", "Stability"], ["preference", "Product preference"], ["channel", "Channel preference"]];
const EXAMPLE_RULE = { all: [{ field: "data_mb", op: ">=", value: 20480 }, { field: "tier", op: "in", value: ["gold", "diamond"] }] };

export async function render(el, { query, ctx }) {
  const family = FAMILIES.some(([f]) => f === query.family) ? query.family : "basic";
  const editor = h("div", { id: "tag-editor" });
  const list = pagedTable([
    { key: "code", label: "Code", render: (r) => h("code", {}, r.code) },
    { key: "name", label: "Name" },
    { key: "description", label: "Description", class: "wrap" },
    { key: "customers", label: "Customers", class: "num", render: (r) => fmt.int(r.customers) },
    { key: "builtin", label: "Built-in", render: (r) => statusBadge(Boolean(r.builtin)) },
    { key: "active", label: "Active", render: (r) => statusBadge(Boolean(r.active)) },
    { key: "version", label: "Ver.", class: "num" },
    { key: "edit", label: "", render: (r) => h("button", { class: "btn small", dataset: { tag: r.code }, onclick: () => openEditor(editor, r, family, list, ctx) }, ctx.can("editTag") ? "Edit" : "View") },
  ], (paging) => get(BASE, { family, ...paging }), { what: "Tag catalogue", empty: "No tags in this family yet.", pageSize: 50 });
  const actions = ctx.can("editTag") ? [h("button", { class: "btn primary", id: "new-tag", onclick: () => openEditor(editor, null, family, list, ctx) }, "New tag")] : [];
  clear(el, page("Tags", { subtitle: "Four families of declarative tags, computed in bulk for every customer by the nightly engine.", actions },
    tabs(FAMILIES, family, (id) => ctx.go("tags", [], { family: id })),
    editor, list));
}

async function fieldsHelp() {
  try {
    const fields = listOf(await get(`${BASE}/fields`));
    return h("details", {}, h("summary", {}, `Fields a rule may use (${fields.length})`),
      table([
        { key: "field", label: "Field", render: (f) => h("code", {}, f.field) },
        { key: "type", label: "Type" },
        { key: "operators", label: "Operators", class: "wrap", render: (f) => (f.operators || []).join("  ") },
      ], fields));
  } catch (err) {
    return null;
  }
}

async function openEditor(editor, row, family, list, ctx) {
  const editable = ctx.can("editTag");
  const preview = h("div", { class: "preview", id: "tag-preview" });
  const fields = [
    row ? null : { name: "code", label: "Code", required: true, placeholder: "lower_snake_case" },
    { name: "name", label: "Name", required: true, value: row?.name },
    { name: "family", label: "Family", type: "select", options: FAMILIES, value: row?.family || family },
    row ? { name: "active", label: "Active", type: "checkbox", value: row.active } : null,
    { name: "description", label: "Description", type: "textarea", wide: true, rows: 2, value: row?.description },
    { name: "rule", label: "Rule (JSON condition tree)", type: "json", wide: true, rows: 8, value: row?.rule ?? EXAMPLE_RULE, required: true,
      help: 'Nodes: {"all": [...]}, {"any": [...]}, {"not": node} or {"field", "op", "value"}. Fields and operators come from the whitelist below; anything else is refused with the reason.' },
  ].filter(Boolean);
  const frm = form(fields, {
    submit: row ? "Save tag" : "Create tag",
    cancel: () => clear(editor),
    onSubmit: async (vals) => {
      const body = { ...vals };
      if (body.description === null) delete body.description;
      if (row) await patch(`${BASE}/${row.id}`, body);
      else await post(BASE, body);
      clear(editor, notice("ok", row ? `Tag ${row.code} saved; the next engine run recomputes it.` : `Tag ${vals.code} created; the next engine run computes it.`));
      list.reload();
    },
  });
  if (!editable) frm.querySelector("button[type=submit]").remove();
  const previewBtn = h("button", { class: "btn", type: "button", id: "preview-tag", onclick: async () => {
    let rule;
    try { rule = JSON.parse(frm.controls.rule.input.value); } catch (e) { clear(preview, notice("error", "The rule is not valid JSON.")); return; }
    clear(preview, loading("Counting…"));
    try {
      const r = await post(`${BASE}/preview`, { rule });
      clear(preview, notice("info", `${fmt.int(r.customers)} customers match this rule now.`));
    } catch (err) {
      clear(preview, errorBox(err, "Rule preview"));
    }
  } }, "Preview count");
  clear(editor, card(row ? `${editable ? "Edit" : "View"} tag ${row.code}${row.builtin ? " (built-in)" : ""}` : "New tag", frm,
    h("div", { class: "actions" }, previewBtn), preview, await fieldsHelp()));
  editor.scrollIntoView({ block: "start" });
}
