// Merchant settlement (seed 001: the alliance's shared resources settled between the operator
// and merchants): statements per merchant and period, what each side owes, a from-scratch check
// against the ledger, generation for a period and marking a statement settled.
// API: GET /v1/alliance/statements, GET /v1/alliance/statements/{id}, POST …/generate, POST …/{id}/settle.

import { get, listOf, post } from "../api.js";
import { TIME_ZONE } from "../i18n.js";
import { attempt, badge, card, clear, errorBox, filters, fmt, form, h, kv, labelOr, loading, notice, options, page, statusBadge, t, table } from "../ui.js";

async function merchantList() {
  try { return listOf(await get("/v1/alliance/merchants", { limit: 100 })); } catch (e) { return []; }
}

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: TIME_ZONE }).format(new Date());
}

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderOne(el, args[0], ctx);
  const merchants = await merchantList();
  const name = Object.fromEntries(merchants.map((m) => [m.id, m.name]));
  const listEl = h("div", {}, loading());
  const bar = filters([
    { name: "merchant_id", label: t("set.merchant"), type: "select", options: merchants.map((m) => [m.id, m.name]) },
    { name: "status", label: t("set.status"), type: "select", options: options("status", ["open", "settled"]) },
  ], query, (vals) => ctx.go("settlement", [], vals));
  const first = today().slice(0, 8) + "01";
  const generator = ctx.can("generateStatements") ? card(t("set.generate"), h("p", { class: "help" }, t("set.generate_help")), form([
    { name: "period_start", label: t("set.period_start"), type: "date", value: first, required: true },
    { name: "period_end", label: t("set.period_end"), type: "date", value: today(), required: true },
    { name: "merchant_id", label: t("set.merchant"), type: "select", options: [["", t("set.all_merchants")], ...merchants.filter((m) => m.status !== "applied").map((m) => [m.id, m.name])] },
  ], {
    submit: t("set.generate_button"),
    onSubmit: async (v) => {
      const rows = await post("/v1/alliance/statements/generate", { period_start: v.period_start, period_end: v.period_end, merchant_id: v.merchant_id ? Number(v.merchant_id) : null });
      await render(el, { args, query, ctx });
      el.prepend(notice("ok", t("set.generated", { count: listOf(rows).length })));
    },
  })) : null;
  clear(el, page(t("nav.settlement"), { subtitle: t("set.subtitle") }, generator, bar, listEl));
  try {
    const rows = listOf(await get("/v1/alliance/statements", { merchant_id: query.merchant_id, status: query.status, limit: 100 }));
    clear(listEl, card(t("set.statements"), table([
      { key: "id", label: t("set.id"), class: "num", render: (r) => h("a", { href: `#/settlement/${r.id}` }, `#${r.id}`) },
      { key: "merchant_id", label: t("set.merchant"), render: (r) => fmt.text(name[r.merchant_id] ?? `#${r.merchant_id}`) },
      { key: "period", label: t("set.period"), class: "nowrap", render: (r) => `${fmt.date(r.period_start)} → ${fmt.date(r.period_end)}` },
      { key: "operator_owes_fen", label: t("set.operator_owes"), class: "num", render: (r) => fmt.fen(r.operator_owes_fen) },
      { key: "merchant_owes_fen", label: t("set.merchant_owes"), class: "num", render: (r) => fmt.fen(r.merchant_owes_fen) },
      { key: "status", label: t("set.status"), render: (r) => statusBadge(r.status) },
      { key: "settled_at", label: t("set.settled_at"), class: "nowrap", render: (r) => fmt.time(r.settled_at) },
    ], rows, { empty: t("set.none"), onRow: (r) => ctx.go("settlement", [r.id]) })));
  } catch (err) {
    clear(listEl, errorBox(err, t("set.statements")));
  }
}

async function renderOne(el, id, ctx) {
  clear(el, loading());
  const s = await attempt(el, t("set.one"), () => get(`/v1/alliance/statements/${encodeURIComponent(id)}`));
  if (!s) return;
  const merchants = await merchantList();
  const merchant = merchants.find((m) => m.id === s.merchant_id);
  const msg = h("div");
  const actions = [h("a", { class: "btn", href: "#/settlement" }, t("set.all"))];
  if (s.status === "open" && ctx.can("settleStatement")) {
    actions.push(h("button", { class: "btn primary", id: "settle", onclick: async (ev) => {
      if (!window.confirm(t("set.settle_confirm", { id: s.id }))) return;
      ev.target.disabled = true;
      try {
        await post(`/v1/alliance/statements/${s.id}/settle`, {});
        await renderOne(el, id, ctx);
        el.prepend(notice("ok", t("set.settled", { id: s.id })));
      } catch (err) {
        clear(msg, errorBox(err, t("set.settle")));
        ev.target.disabled = false;
      }
    } }, t("set.settle")));
  }
  const L = s.lines || {};
  const part = (k) => L[k] || {};
  const resources = Object.entries(part("packs").resources || {}).map(([asset, n]) => `${labelOr("asset", asset)} ${fmt.int(n)}`);
  clear(el, page(t("set.title", { id: s.id }), { subtitle: t("set.one_subtitle", { merchant: merchant ? merchant.name : `#${s.merchant_id}` }), actions },
    msg,
    h("div", { class: "stats" },
      h("div", { class: "stat" }, h("div", { class: "label" }, t("set.operator_owes")), h("div", { class: "value" }, fmt.fen(s.operator_owes_fen))),
      h("div", { class: "stat" }, h("div", { class: "label" }, t("set.merchant_owes")), h("div", { class: "value" }, fmt.fen(s.merchant_owes_fen))),
      h("div", { class: "stat" }, h("div", { class: "label" }, t("set.status")), h("div", { class: "value small" }, statusBadge(s.status))),
      h("div", { class: "stat", id: "ledger-check" }, h("div", { class: "label" }, t("set.ledger_check")), h("div", { class: "value small" },
        s.matches_ledger ? badge(t("set.matches"), "ok") : badge(t("set.differs"), "bad")))),
    card(t("set.lines"), kv([
      [t("set.period"), `${fmt.date(s.period_start)} → ${fmt.date(s.period_end)}`],
      [t("set.redemptions"), t("set.count_value", { n: fmt.int(part("redemptions").count), v: fmt.fen(part("redemptions").settlement_fen) })],
      [t("set.reversals"), t("set.count_value", { n: fmt.int(part("reversals").count), v: fmt.fen(part("reversals").settlement_fen) })],
      [t("set.coupons_sold"), t("set.coupons_value", { n: fmt.int(part("coupons_sold").count), points: fmt.int(part("coupons_sold").points), airtime: fmt.fen(part("coupons_sold").airtime_fen) })],
      [t("set.packs"), t("set.count_value", { n: fmt.int(part("packs").count), v: fmt.fen(part("packs").price_fen) }) + (resources.length ? ` · ${resources.join(" · ")}` : "")],
      [t("set.prepaid"), t("set.prepaid_value", { topups: fmt.fen(part("prepaid").topups_fen), drawn: fmt.fen(part("prepaid").drawn_fen) })],
      [t("set.settled_at"), fmt.time(s.settled_at)],
    ]), h("p", { class: "help" }, t("set.rules_help")))));
}
