// Manager capacity per branch (issue 14 item 10): how many high-value customers each branch has,
// how many have an account manager, and the managers' room; for one branch the high-value
// customers still without a manager, the managers' capacity (raised in place) and a move of the
// ticked customers to one manager (the reason is kept in the assignment history).
// API: GET /v1/assignments/capacity, GET /v1/assignments/capacity/{branch}/unassigned,
// GET /v1/assignments/capacity/{branch}/managers, PATCH /v1/staff/{id} {capacity},
// POST /v1/assignments/move {customer_ids, to_manager_id, reason, force}.

import { get, listOf, patch, post } from "../api.js";
import { attempt, card, clear, errorBox, fmt, h, label, loading, notice, page, pagedTable, t, table } from "../ui.js";

const BASE = "/v1/assignments/capacity";

function room(r) {
  const left = Number(r.capacity) - Number(r.load);
  return h("span", { class: left < 0 ? "bad" : "" }, fmt.int(left));
}

export async function render(el, { args, ctx }) {
  if (args[0]) return renderBranch(el, Number(args[0]), ctx);
  const body = h("div", { id: "capacity-branches" }, loading());
  clear(el, page(t("nav.capacity"), { subtitle: t("capacity.subtitle") }, card(t("capacity.branches"), body)));
  const rows = await attempt(body, t("capacity.branches"), () => get(BASE));
  if (!rows) return;
  clear(body, table([
    { key: "branch_name", label: t("capacity.branch"), render: (r) => h("a", { href: `#/capacity/${r.branch_id}`, dataset: { branch: r.branch_id } }, r.branch_name || `#${r.branch_id}`) },
    { key: "high_value", label: t("capacity.high_value"), class: "num", render: (r) => fmt.int(r.high_value) },
    { key: "assigned", label: t("capacity.assigned"), class: "num", render: (r) => fmt.int(r.assigned) },
    { key: "unassigned", label: t("capacity.unassigned"), class: "num", render: (r) => h("strong", { class: r.unassigned ? "bad" : "" }, fmt.int(r.unassigned)) },
    { key: "managers", label: t("capacity.managers"), class: "num", render: (r) => fmt.int(r.managers) },
    { key: "capacity", label: t("capacity.capacity"), class: "num", render: (r) => fmt.int(r.capacity) },
    { key: "load", label: t("capacity.load"), class: "num", render: (r) => fmt.int(r.load) },
    { key: "room", label: t("capacity.room"), class: "num", render: room },
  ], listOf(rows), { empty: t("capacity.none"), onRow: (r) => ctx.go("capacity", [r.branch_id]) }));
}

async function renderBranch(el, branchId, ctx) {
  const summary = h("div", { id: "capacity-summary" }, loading());
  const managersEl = h("div", { id: "capacity-managers" }, loading());
  const customersEl = h("div", { id: "capacity-customers" });
  const status = h("div", { id: "capacity-status" });
  const picked = new Set();
  let managers = [];
  clear(el, page(t("capacity.branch_title", { name: `#${branchId}` }), { actions: [h("a", { class: "btn", href: "#/capacity" }, t("capacity.all"))] },
    status,
    summary,
    card(t("capacity.managers_title"), managersEl),
    card(t("capacity.unassigned_title"), h("p", { class: "help" }, t("capacity.unassigned_help")), customersEl)));

  const drawSummary = async () => {
    const rows = await attempt(summary, t("capacity.branches"), () => get(BASE));
    if (!rows) return;
    const row = listOf(rows).find((r) => Number(r.branch_id) === branchId);
    if (!row) { clear(summary, notice("info", t("capacity.none"))); return; }
    el.querySelector("h1")?.replaceChildren(t("capacity.branch_title", { name: row.branch_name || `#${branchId}` }));
    clear(summary, h("div", { class: "stats" },
      [["high_value", row.high_value], ["assigned", row.assigned], ["unassigned", row.unassigned], ["capacity", row.capacity], ["load", row.load]]
        .map(([k, v]) => h("div", { class: "stat", dataset: { stat: k } }, h("div", { class: "label" }, t(`capacity.${k}`)), h("div", { class: "value" }, fmt.int(v))))));
  };

  const saveCapacity = async (ev, m, input) => {
    ev.target.disabled = true;
    clear(status);
    try {
      const out = await patch(`/v1/staff/${encodeURIComponent(m.id)}`, { capacity: Number(input.value) });
      clear(status, notice("ok", t("capacity.saved", { name: out.full_name || out.username, capacity: fmt.int(out.capacity) })));
      await Promise.all([drawManagers(), drawSummary()]);
    } catch (err) {
      clear(status, errorBox(err, t("capacity.capacity")));
      ev.target.disabled = false;
    }
  };

  const drawManagers = async () => {
    const rows = await attempt(managersEl, t("capacity.managers_title"), () => get(`${BASE}/${branchId}/managers`));
    if (!rows) return;
    managers = listOf(rows);
    const editable = ctx.can("editCapacity");
    clear(managersEl, table([
      { key: "full_name", label: t("capacity.manager"), render: (m) => h("span", {}, m.full_name, " ", h("code", {}, m.username)) },
      { key: "capacity", label: t("capacity.capacity"), class: "num", render: (m) => (editable
        ? h("input", { type: "number", name: "capacity", min: 0, max: 5000, value: m.capacity, dataset: { manager: m.id }, "aria-label": t("capacity.capacity") })
        : fmt.int(m.capacity)) },
      { key: "load", label: t("capacity.load"), class: "num", render: (m) => fmt.int(m.load) },
      { key: "room", label: t("capacity.room"), class: "num", render: room },
      { key: "actions", label: "", render: (m) => (editable ? h("button", { class: "btn small primary", dataset: { saveCapacity: m.id }, onclick: (ev) => {
        saveCapacity(ev, m, ev.target.closest("tr").querySelector("input[name=capacity]"));
      } }, t("ui.save")) : "") },
    ], managers, { empty: t("capacity.no_managers") }));
    drawMover();
  };

  const moverEl = h("div", { id: "capacity-move" });
  const drawMover = () => {
    if (!ctx.can("moveAssignments")) { clear(moverEl); return; }
    const select = h("select", { name: "to_manager_id", "aria-label": t("capacity.to_manager") },
      h("option", { value: "" }, t("ui.choose")),
      managers.map((m) => h("option", { value: m.id }, `${m.full_name} (${m.username}) · ${fmt.int(m.load)}/${fmt.int(m.capacity)}`)));
    const reason = h("input", { name: "reason", placeholder: t("capacity.reason_eg"), "aria-label": t("capacity.reason") });
    const force = h("input", { type: "checkbox", name: "force" });
    const button = h("button", { class: "btn primary", id: "capacity-move-button", onclick: async () => {
      clear(status);
      if (!picked.size) { clear(status, notice("error", t("capacity.pick_some"))); return; }
      if (!select.value) { clear(status, notice("error", t("capacity.pick_manager"))); return; }
      button.disabled = true;
      try {
        const r = await post("/v1/assignments/move", { customer_ids: [...picked], to_manager_id: Number(select.value), reason: reason.value, force: force.checked });
        picked.clear();
        clear(status, notice("ok", t("capacity.moved", { moved: fmt.int(r.moved.length), unchanged: fmt.int(r.unchanged.length), load: fmt.int(r.manager_load ?? 0) })));
        await Promise.all([drawManagers(), drawSummary()]);
        customers.reload();
      } catch (err) {
        clear(status, errorBox(err, t("capacity.move")));
      } finally {
        button.disabled = false;
      }
    } }, t("capacity.move"));
    clear(moverEl, h("div", { class: "filters" },
      h("label", { class: "filter" }, h("span", {}, t("capacity.to_manager")), select),
      h("label", { class: "filter" }, h("span", {}, t("capacity.reason")), reason),
      h("label", { class: "check" }, force, t("capacity.force")),
      button));
  };

  const tick = (r) => h("input", { type: "checkbox", name: "pick", dataset: { customer: r.customer_id }, checked: picked.has(r.customer_id), "aria-label": t("capacity.pick"),
    onchange: (ev) => { if (ev.target.checked) picked.add(r.customer_id); else picked.delete(r.customer_id); } });
  const customers = pagedTable([
    { key: "pick", label: "", render: tick },
    { key: "customer_id", label: t("capacity.customer"), class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
    { key: "customer_name", label: t("capacity.name") },
    { key: "customer_phone", label: t("capacity.phone"), render: (r) => h("span", { class: "mono" }, fmt.text(r.customer_phone)) },
    { key: "tier", label: t("capacity.tier"), render: (r) => (r.tier ? label("tier", r.tier) : "—") },
    { key: "arpu_fen", label: t("capacity.arpu"), class: "num", render: (r) => fmt.fen(r.arpu_fen) },
    { key: "risk_level", label: t("capacity.risk"), render: (r) => (r.risk_level ? label("risk", r.risk_level) : "—") },
  ], (paging) => get(`${BASE}/${branchId}/unassigned`, paging), { what: t("capacity.unassigned_title"), empty: t("capacity.all_assigned") });
  clear(customersEl, moverEl, customers);
  await Promise.all([drawSummary(), drawManagers()]);
}
