// Account-manager incentives (seed 000: points for keeping high-risk customers and lifting value):
// the rules, the monthly run that posts each manager's statement once through the ledger, and the
// statements with their per-customer lines. API: GET/PUT /v1/incentives/rules,
// POST /v1/incentives/statements/run, GET /v1/incentives/statements.

import { get, listOf, post, put } from "../api.js";
import { attempt, card, clear, errorBox, filters, fmt, form, h, kv, labelOr, loading, notice, page, t, table } from "../ui.js";

const RULE_KEYS = ["retained_high_risk_points", "risk_window_days", "uplift_points_per_yuan", "uplift_cap_points", "uplift_baseline_months"];

function lastMonth() {
  return new Date(Date.now() - 28 * 86400000).toISOString().slice(0, 7);
}

export async function render(el, { args, query, ctx }) {
  clear(el, loading());
  const rules = await attempt(el, t("inc.rules"), () => get("/v1/incentives/rules"));
  if (!rules) return;
  let managers = [];
  try { managers = listOf(await get("/v1/staff", { role: "account_manager", limit: 100 })); } catch (e) { managers = []; }
  const name = Object.fromEntries(managers.map((m) => [m.id, `${m.full_name} (${m.username})`]));
  const month = query.month || lastMonth();
  const msg = h("div");
  const rulesEl = h("div");
  const showRules = () => clear(rulesEl, card(t("inc.rules"),
    kv(RULE_KEYS.map((k) => [t(`inc.rule.${k}`), fmt.int(rules[k])])),
    ctx.can("editIncentives") ? h("div", { class: "actions" }, h("button", { class: "btn", id: "edit-incentive-rules", onclick: editRules }, t("ui.edit"))) : null));
  function editRules() {
    clear(rulesEl, card(t("inc.rules"), form(RULE_KEYS.map((k) => ({ name: k, label: t(`inc.rule.${k}`), type: "number", min: 0, value: rules[k], required: true })), {
      submit: t("inc.save_rules"),
      cancel: showRules,
      onSubmit: async (vals) => {
        Object.assign(rules, await put("/v1/incentives/rules", vals));
        showRules();
        rulesEl.prepend(notice("ok", t("inc.rules_saved")));
      },
    })));
  }
  showRules();
  const runner = ctx.can("editIncentives") ? card(t("inc.run"), h("p", { class: "help" }, t("inc.run_help")), form([
    { name: "month", label: t("inc.month"), type: "month", value: month, required: true },
  ], {
    submit: t("inc.run_button"),
    onSubmit: async (vals) => {
      const r = await post("/v1/incentives/statements/run", { month: vals.month });
      ctx.go("incentives", [], { month: vals.month });
      setTimeout(() => el.prepend(notice("ok", t("inc.ran", { month: fmt.month(vals.month), created: fmt.int(r.created), managers: fmt.int(r.managers), points: fmt.int(r.points) }))), 300);
    },
  })) : null;
  const listEl = h("div", {}, loading());
  const bar = filters([
    { name: "month", label: t("inc.month"), type: "month" },
    { name: "manager_id", label: t("inc.manager"), type: "select", options: managers.map((m) => [m.id, name[m.id]]) },
  ], { ...query, month }, (vals) => ctx.go("incentives", [], vals));
  clear(el, page(t("nav.incentives"), { subtitle: t("inc.subtitle") }, msg, h("div", { class: "cols" }, rulesEl, runner), bar, listEl));
  try {
    const rows = listOf(await get("/v1/incentives/statements", { month, manager_id: query.manager_id }));
    const detail = h("div", { id: "statement-lines" });
    clear(listEl, card(t("inc.statements", { month: fmt.month(month) }), table([
      { key: "manager_id", label: t("inc.manager"), render: (r) => fmt.text(name[r.manager_id] ?? `#${r.manager_id}`) },
      { key: "points", label: t("inc.points"), class: "num", render: (r) => fmt.int(r.points) },
      { key: "lines", label: t("inc.lines"), class: "num", render: (r) => fmt.int((r.lines || []).length) },
      { key: "txn_id", label: t("inc.txn"), class: "num", render: (r) => (r.txn_id ? `#${r.txn_id}` : "—") },
      { key: "created_at", label: t("inc.created"), class: "nowrap", render: (r) => fmt.time(r.created_at) },
      { key: "open", label: "", render: (r) => h("button", { class: "btn small", dataset: { manager: r.manager_id }, onclick: () => showLines(detail, r, name) }, t("inc.show_lines")) },
    ], rows, { empty: t("inc.none") }), detail));
  } catch (err) {
    clear(listEl, errorBox(err, t("inc.statements", { month })));
  }
}

function showLines(el, s, name) {
  clear(el, h("h3", {}, t("inc.lines_of", { manager: name[s.manager_id] ?? `#${s.manager_id}`, month: fmt.month(s.month) })),
    table([
      { key: "customer_id", label: t("inc.customer"), class: "num", render: (r) => h("a", { href: `#/customers/${r.customer_id}` }, `#${r.customer_id}`) },
      { key: "kind", label: t("inc.kind"), render: (r) => labelOr("incentive", r.kind) },
      { key: "detail", label: t("inc.detail"), render: (r) => (r.baseline_fen !== undefined ? t("inc.uplift_detail", { bill: fmt.fen(r.subscription_fen ?? r.bill_fen), base: fmt.fen(r.baseline_fen) }) : r.task_id ? t("inc.task", { id: r.task_id }) : "—") },
      { key: "points", label: t("inc.points"), class: "num", render: (r) => fmt.int(r.points) },
    ], s.lines || [], { empty: t("inc.no_lines") }));
}
