// DOM helpers. Every piece of server data goes in through textContent (never innerHTML),
// so names or tag rules containing markup cannot run script in the console.

import { ApiError, listOf, pageInfo } from "./api.js";
import { fmt, has, label, labelOr, t } from "./i18n.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "style") el.style.cssText = v; // CSSOM, not an inline style attribute: allowed by the CSP
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// ---- formatting -------------------------------------------------------------------------
// Numbers, money and dates follow the console's language (see i18n.js).
export { fmt, label, labelOr, options, t, tx } from "./i18n.js";

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text ?? "—");
}

const BADGE_KIND = {
  high: "bad", medium: "warn", low: "ok", active: "ok", approved: "ok", running: "info", launched: "info",
  done: "ok", finished: "ok", completed: "ok", failed: "bad", rejected: "bad", suspended: "warn", ended: "muted",
  draft: "muted", pending: "warn", applied: "warn", scheduled: "warn", cancelled: "muted", queued: "muted",
  validating: "info", loading: "info", churned: "bad", inactive: "muted", true: "ok", false: "muted",
};

export function statusBadge(value) {
  const text = value === true ? t("ui.yes") : value === false ? t("ui.no") : label("status", value);
  return badge(text, BADGE_KIND[String(value)] || "");
}

// ---- notices and errors -----------------------------------------------------------------
export function notice(kind, ...children) {
  return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

export function unavailable(what) {
  return notice("muted", h("strong", {}, t("ui.unavailable", { what })), " ", t("ui.unavailable_help"));
}

// Renders the API's {"error","detail","context"} body, including per-field validation errors.
export function errorBox(err, what = "") {
  if (err instanceof ApiError) {
    if (err.unavailable) return unavailable(what || t("ui.this_feature"));
    if (err.forbidden) return notice("error", h("strong", {}, t("ui.not_allowed")), " ", t("ui.forbidden", { detail: err.detail }));
    const items = (err.context.errors || []).map((e) => h("li", {}, `${(e.loc || []).filter((p) => p !== "body").join(".")}: ${e.msg}`));
    const extra = Object.entries(err.context).filter(([k]) => k !== "errors");
    return notice("error",
      h("strong", {}, t("ui.error_title", { error: errorName(err.error) })), " ", err.detail,
      items.length ? h("ul", { class: "errors" }, items) : null,
      extra.length ? h("div", { class: "ctx" }, extra.map(([k, v]) => `${labelOr("ctx", k)}: ${brief(v)}`).join(" · ")) : null);
  }
  return notice("error", h("strong", {}, t("ui.error_title", { error: t("ui.error") })), " ", String(err && err.message ? err.message : err));
}

// The machine-readable code in the language of the console when the catalogue knows it
// (the detail text is the server's, in the language the console asks for with Accept-Language).
function errorName(code) {
  return has(`error.${code}`) ? t(`error.${code}`) : String(code).replaceAll("_", " ");
}

// Context values can be long (e.g. the list of allowed fields): keep the notice readable.
function brief(v) {
  if (Array.isArray(v)) return v.length > 12 ? `${v.slice(0, 12).join(", ")}, … ${t("ui.n_more", { count: v.length - 12 })}` : v.join(", ");
  const text = fmt.text(v);
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function loading(text) {
  return h("div", { class: "loading" }, text || t("ui.loading"));
}

// ---- tables -----------------------------------------------------------------------------
// columns: [{key, label, render?(row) -> Node|string, class?}]
export function table(columns, rows, { empty, onRow, cls = "" } = {}) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { class: c.class }, c.label))));
  const body = h("tbody");
  if (!rows.length) {
    body.appendChild(h("tr", { class: "empty" }, h("td", { colspan: columns.length }, empty || t("ui.nothing"))));
  }
  for (const row of rows) {
    const tr = h("tr", { class: onRow ? "clickable" : "" },
      columns.map((c) => h("td", { class: c.class, dataset: { label: typeof c.label === "string" ? c.label : "" } },
        c.render ? c.render(row) : fmt.text(row[c.key]))));
    if (onRow) tr.addEventListener("click", (ev) => { if (!ev.target.closest("a,button,input,select")) onRow(row); });
    body.appendChild(tr);
  }
  return h("div", { class: "table-wrap" }, h("table", { class: `data ${cls}` }, head, body));
}

// A table with paging over an endpoint. fetchPage(paging) returns the raw response, where
// paging is {limit, offset}, {limit, after} (the API's `next_after`) or {limit, after_id, offset}
// (bare lists). Server paging is used when the response carries it, otherwise a longer
// list is paged in the browser.
export function pagedTable(columns, fetchPage, { pageSize = 25, empty, onRow, what, onData } = {}) {
  const wrap = h("div", { class: "paged" });
  const state = { offset: 0, cursors: [null], page: 0, clientRows: null };

  async function load() {
    clear(wrap, loading());
    let rows;
    let total = null;
    let hasNext = false;
    try {
      if (state.clientRows) {
        rows = state.clientRows.slice(state.offset, state.offset + pageSize);
        total = state.clientRows.length;
      } else {
        const cursor = state.cursors[state.page];
        const paging = cursor ? { limit: pageSize, ...cursor } : { limit: pageSize, offset: state.offset || undefined };
        const data = await fetchPage(paging);
        const all = listOf(data);
        const info = pageInfo(data);
        if (onData) onData(data);
        if (info.next) {
          state.cursors[state.page + 1] = info.next;
          rows = all;
          hasNext = true;
        } else if (info.total !== null && info.total !== undefined) {
          rows = all.slice(0, pageSize);
          total = info.total;
        } else if (all.length > pageSize) {
          state.clientRows = all;
          rows = all.slice(state.offset, state.offset + pageSize);
          total = all.length;
        } else {
          // A bare list of exactly one page: the next page is asked for both ways, keyset by id
          // (`after_id`) and by `offset`; each endpoint reads the one it supports.
          rows = all;
          hasNext = all.length === pageSize;
          if (hasNext) state.cursors[state.page + 1] = { after_id: all[all.length - 1].id, offset: state.offset + pageSize };
        }
      }
    } catch (err) {
      clear(wrap, errorBox(err, what));
      return;
    }
    if (total !== null) hasNext = state.offset + pageSize < total;
    const from = rows.length ? state.offset + 1 : 0;
    const to = state.offset + rows.length;
    const prev = h("button", { class: "btn small", disabled: state.offset === 0, onclick: () => { state.offset = Math.max(0, state.offset - pageSize); state.page = Math.max(0, state.page - 1); load(); } }, t("ui.prev"));
    const next = h("button", { class: "btn small", disabled: !hasNext, onclick: () => { state.offset += pageSize; state.page += 1; load(); } }, t("ui.next"));
    clear(wrap,
      table(columns, rows, { empty, onRow }),
      h("div", { class: "pager" }, h("span", { class: "muted" }, total !== null ? t("ui.range_of", { from: fmt.int(from), to: fmt.int(to), total: fmt.int(total) }) : t("ui.range", { from: fmt.int(from), to: fmt.int(to) })), prev, next));
  }

  wrap.reload = () => { state.offset = 0; state.page = 0; state.cursors = [null]; state.clientRows = null; return load(); };
  load();
  return wrap;
}

// ---- forms ------------------------------------------------------------------------------
// fields: [{name, label, type: text|number|select|textarea|checkbox|date|file|json, options, required, min, max, value, help}]
export function form(fields, { submit, onSubmit, cancel } = {}) {
  const status = h("div", { class: "form-status" });
  const controls = {};
  const rows = fields.map((f) => {
    let input;
    const common = { name: f.name, id: `f-${f.name}`, required: f.required, placeholder: f.placeholder };
    if (f.type === "select") {
      input = h("select", common, (f.options || []).map((o) => {
        const [value, label] = Array.isArray(o) ? o : [o, o];
        return h("option", { value, selected: String(f.value ?? "") === String(value) }, label);
      }));
    } else if (f.type === "textarea" || f.type === "json") {
      input = h("textarea", { ...common, rows: f.rows || 4, class: f.type === "json" ? "mono" : "" });
      input.value = f.type === "json" && f.value !== undefined && typeof f.value !== "string" ? JSON.stringify(f.value, null, 2) : (f.value ?? "");
    } else if (f.type === "checkbox") {
      input = h("input", { ...common, type: "checkbox", checked: Boolean(f.value) });
    } else if (f.type === "custom") {
      input = f.element; // read with f.read(), which throws Error(message) when the value is not ready
    } else if (f.type === "checks") {
      input = checkGroup(f.name, f.options || [], (f.value || []).map(String));
      input.id = `f-${f.name}`;
    } else if (f.type === "picker") {
      input = chipPicker(f.options || [], (f.value || []).map(String), { id: `f-${f.name}`, placeholder: f.placeholder });
    } else {
      input = h("input", { ...common, type: f.type || "text", min: f.min, max: f.max, step: f.step, accept: f.accept, value: f.type === "file" ? undefined : f.value });
    }
    controls[f.name] = { input, field: f, error: h("div", { class: "field-error" }) };
    return h("div", { class: `field ${f.type === "checkbox" ? "check" : ""} ${f.wide ? "wide" : ""}` },
      h("label", { for: `f-${f.name}` }, f.label), input,
      f.help ? h("div", { class: "help" }, f.help) : null, controls[f.name].error);
  });

  function values() {
    const out = {};
    for (const [name, { input, field }] of Object.entries(controls)) {
      if (field.type === "checkbox") out[name] = input.checked;
      else if (field.type === "checks" || field.type === "picker") out[name] = input.value();
      else if (field.type === "custom") {
        try { out[name] = field.read(); } catch (e) { throw new FieldError(name, e.message); }
      }
      else if (field.type === "number") out[name] = input.value === "" ? null : Number(input.value);
      else if (field.type === "file") out[name] = input.files && input.files[0];
      else if (field.type === "json") {
        try { out[name] = input.value.trim() ? JSON.parse(input.value) : null; } catch (e) { throw new FieldError(name, t("ui.invalid_json")); }
      } else out[name] = input.value === "" ? null : input.value;
    }
    return out;
  }

  const btn = h("button", { class: "btn primary", type: "submit" }, submit || t("ui.save"));
  const el = h("form", { class: "form", novalidate: true },
    h("div", { class: "fields" }, rows),
    status,
    h("div", { class: "actions" }, btn, cancel ? h("button", { class: "btn", type: "button", onclick: cancel }, t("ui.cancel")) : null));

  el.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    Object.values(controls).forEach((c) => { c.error.textContent = ""; c.input.classList.remove("invalid"); });
    clear(status);
    let vals;
    try {
      vals = values();
      for (const { input, field } of Object.values(controls)) {
        const v = vals[field.name];
        if (field.required && (v === null || v === undefined || v === "" || (Array.isArray(v) && !v.length))) throw new FieldError(field.name, t("ui.required"));
        if (field.type === "number" && v !== null && ((field.min !== undefined && v < field.min) || (field.max !== undefined && v > field.max))) {
          throw new FieldError(field.name, t("ui.between", { min: field.min, max: field.max }));
        }
        if (field.type === "number" && v !== null && Number.isNaN(v)) throw new FieldError(field.name, t("ui.not_a_number"));
        void input;
      }
    } catch (e) {
      if (e instanceof FieldError && controls[e.field]) {
        controls[e.field].error.textContent = e.message;
        controls[e.field].input.classList.add("invalid");
        return;
      }
      throw e;
    }
    btn.disabled = true;
    try {
      await onSubmit(vals, { status });
    } catch (err) {
      if (err instanceof ApiError) {
        for (const e of err.context.errors || []) {
          const loc = (e.loc || []).filter((p) => p !== "body");
          const target = loc.find((p) => controls[p]);
          if (target) {
            controls[target].error.textContent = e.msg;
            controls[target].input.classList.add("invalid");
          }
        }
      }
      clear(status, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  el.controls = controls;
  return el;
}

class FieldError extends Error {
  constructor(field, message) {
    super(message);
    this.field = field;
  }
}

// ---- layout -----------------------------------------------------------------------------
export function page(title, { actions = [], subtitle } = {}, ...body) {
  return h("section", { class: "page" },
    h("header", { class: "page-head" },
      h("div", {}, h("h1", {}, title), subtitle ? h("p", { class: "subtitle" }, subtitle) : null),
      h("div", { class: "page-actions" }, actions)),
    ...body);
}

export function card(title, ...body) {
  return h("div", { class: "card" }, title ? h("h2", {}, title) : null, ...body);
}

export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v instanceof Node ? v : fmt.text(v))]));
}

// Filter bar: fields like form(); calls onChange(values) on submit; values are kept in the hash query.
export function filters(fields, initial, onChange) {
  const controls = {};
  const el = h("form", { class: "filters" },
    fields.map((f) => {
      const value = initial[f.name] ?? "";
      let input;
      if (f.type === "select") {
        input = h("select", { name: f.name }, [["", f.any || t("ui.any")], ...f.options].map((o) => {
          const [v, l] = Array.isArray(o) ? o : [o, o];
          return h("option", { value: v, selected: String(value) === String(v) }, l);
        }));
      } else {
        input = h("input", { name: f.name, type: f.type || "text", placeholder: f.placeholder || "", value });
      }
      controls[f.name] = input;
      return h("label", { class: "filter" }, h("span", {}, f.label), input);
    }),
    h("button", { class: "btn small primary", type: "submit" }, t("ui.apply")),
    h("button", { class: "btn small", type: "button", onclick: () => { Object.values(controls).forEach((c) => { c.value = ""; }); el.requestSubmit(); } }, t("ui.reset")));
  el.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const out = {};
    for (const [k, c] of Object.entries(controls)) if (c.value !== "") out[k] = c.value;
    onChange(out);
  });
  return el;
}

export function tabs(items, active, onSelect) {
  return h("nav", { class: "tabs" }, items.map(([id, label]) =>
    h("button", { class: `tab ${id === active ? "active" : ""}`, type: "button", onclick: () => onSelect(id) }, label)));
}

export function link(href, text) {
  return h("a", { href }, text);
}

// First defined value among several possible field names (the API is young; names may vary).
export function pick(obj, ...names) {
  if (!obj) return undefined;
  for (const n of names) if (obj[n] !== undefined && obj[n] !== null) return obj[n];
  return undefined;
}

// Run `loader`; on failure render the error (or "not available yet") into `el` and return null.
export async function attempt(el, what, loader) {
  try {
    return await loader();
  } catch (err) {
    clear(el, errorBox(err, what));
    return null;
  }
}

// Closed value sets the screens pick from; labels come from the catalogue (enum.<kind>.<value>).
export const TIER_CODES = ["star1", "star2", "star3", "star4", "star5", "gold", "diamond"];
export const RISK_CODES = ["low", "medium", "high"];
export const STAGE_CODES = ["exploration", "formation", "stable", "decline"];
export const FOUR_HIGH_CODES = ["tariff", "payg_data", "silence", "arpu_mismatch"];
export const SEGMENT_CODES = ["potential_loss", "value_loss", "stable"];
export const SUB_SEGMENT_CODES = ["tariff", "network", "service", "resource_shortage", "low_frequency", "resource_surplus", "high_value", "mainstream"];
export const RISK_COLORS = { low: "#23a17c", medium: "#e0a21b", high: "#d9534f", unscored: "#b8c1d1" };

// A picker for several values out of a known list (tag codes, products): type to search, pick
// from the suggestions, remove with ×. `el.value()` returns the picked values in order.
let pickerSeq = 0;
export function chipPicker(choices, selected = [], { id, placeholder } = {}) {
  const listId = `picker-${++pickerSeq}`;
  const labelOf = new Map(choices.map(([v, l]) => [String(v), l]));
  const byText = new Map(choices.map(([v, l]) => [`${l} · ${v}`, String(v)]));
  const picked = [];
  const chips = h("span", { class: "chips" });
  const input = h("input", { id, list: listId, placeholder: placeholder || t("ui.type_to_search"), autocomplete: "off" });
  const datalist = h("datalist", { id: listId }, choices.map(([v, l]) => h("option", { value: `${l} · ${v}` })));
  const el = h("div", { class: "chip-picker" }, chips, input, datalist);
  const draw = () => clear(chips, picked.map((v) => h("span", { class: "chip", dataset: { value: v } }, labelOf.get(v) ?? v,
    h("button", { type: "button", class: "chip-x", "aria-label": t("ui.remove"), onclick: () => { picked.splice(picked.indexOf(v), 1); draw(); el.dispatchEvent(new Event("change", { bubbles: true })); } }, "×"))));
  const add = (v) => {
    if (v && !picked.includes(v)) picked.push(v);
    draw();
  };
  input.addEventListener("change", () => {
    const v = byText.get(input.value) ?? (labelOf.has(input.value.trim()) ? input.value.trim() : null);
    if (v) {
      add(v);
      input.value = "";
      el.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });
  selected.forEach((v) => add(String(v)));
  el.value = () => [...picked];
  el.set = (values) => { picked.splice(0, picked.length); values.forEach((v) => add(String(v))); };
  return el;
}

// Checkboxes for a closed value set; `el.value()` is the ticked values.
export function checkGroup(name, choices, selected = []) {
  const el = h("div", { class: "checks", dataset: { name } }, choices.map(([v, l]) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", value: v, checked: selected.includes(v) }), " ", l)));
  el.value = () => [...el.querySelectorAll("input:checked")].map((i) => i.value);
  return el;
}
