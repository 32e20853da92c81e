// Alliance merchants and their offers: approve, suspend or end merchants; approve or reject offers
// and merchant ads; one merchant's stores, API clients and prepaid balance (#/merchants/<id>);
// the operator's packs and budgets.

import { del, get, listOf, post } from "../api.js";
import {
  attempt, card, clear, errorBox, fmt, form, h, kv, label, labelOr, loading, notice, options, page, pagedTable, pick,
  statusBadge, t, table, tabs,
} from "../ui.js";

const MERCHANT_ACTIONS = { applied: ["approve", "reject"], pending: ["approve", "reject"], approved: ["suspend", "end"], suspended: ["approve", "end"] };
const OFFER_ACTIONS = { pending: ["approve", "reject"] };
const AD_ACTIONS = { pending: ["approve", "reject"], approved: ["withdraw"] };
const STATUSES = { merchants: ["applied", "approved", "suspended", "rejected", "ended"], offers: ["pending", "approved", "rejected", "ended"], ads: ["pending", "approved", "withdrawn"], packs: [] };

export async function render(el, { args, query, ctx }) {
  if (args[0]) return renderMerchant(el, args[0], ctx);
  const tab = Object.keys(STATUSES).includes(query.tab) ? query.tab : "merchants";
  const status = query.status || "";
  const msg = h("div");
  const statuses = STATUSES[tab];
  const statusFilter = statuses.length ? h("select", { id: "status-filter", "aria-label": t("merch.status"), onchange: (ev) => ctx.go("merchants", [], { tab, status: ev.target.value }) },
    [["", t("camp.any_status")], ...options("status", statuses)].map(([v, l]) => h("option", { value: v, selected: v === status }, l))) : null;
  const actionButtons = (kind, row, list) => {
    if (!ctx.can("approveMerchant")) return "";
    const acts = ({ merchants: MERCHANT_ACTIONS, offers: OFFER_ACTIONS, ads: AD_ACTIONS }[kind])[row.status] || [];
    const credentials = kind === "merchants" && row.status === "approved" && ctx.can("merchantCredentials")
      ? h("button", { class: "btn small", dataset: { action: "credentials", id: row.id }, onclick: async (ev) => {
        if (!window.confirm(t("merch.issue_confirm", { name: row.name }))) return;
        ev.target.disabled = true;
        try {
          const c = await post(`/v1/alliance/merchants/${row.id}/clients`, {});
          clear(msg, secretNotice(row.name, c));
        } catch (err) {
          clear(msg, errorBox(err, t("merch.issuing")));
        } finally {
          ev.target.disabled = false;
        }
      } }, t("merch.issue")) : null;
    return h("span", { class: "row-actions" }, credentials, acts.map((a) => h("button", {
      class: `btn small ${a === "approve" ? "primary" : ["reject", "end", "withdraw"].includes(a) ? "danger" : ""}`,
      dataset: { action: a, id: row.id },
      onclick: async (ev) => {
        let reason = null;
        const name = row.name || row.title || row.id;
        if (kind === "ads" && a === "reject") {
          reason = window.prompt(t("merch.reject_reason", { name }), "");
          if (!reason) return;
        } else if (a !== "approve" && !window.confirm(t("merch.confirm", { action: t(`merch.act.${a}`), name }))) return;
        ev.target.disabled = true;
        clear(msg);
        try {
          if (kind === "ads" && a === "withdraw") await del(`/v1/ads/${row.id}`);
          else if (kind === "ads") await post(`/v1/ads/${row.id}/${a}`, reason ? { reason } : {});
          else await post(`/v1/alliance/${kind}/${row.id}/${a}`, {});
          list.reload();
        } catch (err) {
          clear(msg, errorBox(err, t(`merch.act.${a}`)));
          ev.target.disabled = false;
        }
      },
    }, t(`merch.act.${a}`))));
  };
  let list;
  if (tab === "merchants") {
    list = pagedTable([
      { key: "id", label: t("merch.id"), class: "num" },
      { key: "name", label: t("merch.merchant"), render: (r) => h("a", { href: `#/merchants/${r.id}` }, r.name) },
      { key: "category", label: t("merch.category"), render: (r) => labelOr("category", r.category) },
      { key: "contact_name", label: t("merch.contact"), render: (r) => `${fmt.text(r.contact_name)} · ${fmt.text(pick(r, "contact_phone_masked", "contact_phone"))}` },
      { key: "status", label: t("merch.status"), render: (r) => statusBadge(r.status) },
      { key: "created_at", label: t("merch.applied"), class: "nowrap", render: (r) => fmt.date(r.created_at) },
      { key: "approved_at", label: t("merch.approved"), class: "nowrap", render: (r) => fmt.date(r.approved_at) },
      { key: "actions", label: "", render: (r) => actionButtons("merchants", r, list) },
    ], (paging) => get("/v1/alliance/merchants", { status, ...paging }), { what: t("merch.list"), empty: t("merch.none") });
  } else if (tab === "ads") {
    const names = await merchantNames();
    list = pagedTable([
      { key: "id", label: t("merch.id"), class: "num" },
      { key: "title", label: t("merch.banner"), class: "wrap", render: (r) => h("div", {}, h("strong", {}, r.title), r.body ? h("div", { class: "muted" }, r.body) : null) },
      { key: "merchant", label: t("merch.placed_by"), render: (r) => (r.merchant_id ? fmt.text(names[r.merchant_id] ?? t("merch.merchant_n", { id: r.merchant_id })) : t("merch.operator")) },
      { key: "targets", label: t("merch.targets"), class: "wrap", render: (r) => {
        const targets = [...(r.target_tiers || []).map((x) => label("tier", x)), ...(r.target_segments || []).map((x) => labelOr("segment", x))];
        return targets.length ? fmt.anyOf(targets) : t("merch.everyone");
      } },
      { key: "window", label: t("merch.shown"), class: "nowrap", render: (r) => `${fmt.date(r.starts_at)} → ${fmt.date(r.ends_at)}` },
      { key: "priority", label: t("merch.priority"), class: "num" },
      { key: "status", label: t("merch.status"), render: (r) => statusBadge(r.status) },
      { key: "actions", label: "", render: (r) => actionButtons("ads", r, list) },
    ], (paging) => get("/v1/ads", { status, ...paging }), { what: t("merch.ads"), empty: t("merch.no_ads") });
  } else if (tab === "packs") {
    list = await packsTab();
  } else {
    const names = await merchantNames();
    list = pagedTable([
      { key: "id", label: t("merch.id"), class: "num" },
      { key: "title", label: t("merch.offer"), render: (r) => fmt.text(pick(r, "title", "name")) },
      { key: "merchant", label: t("merch.merchant"), render: (r) => fmt.text(pick(r, "merchant_name") ?? names[r.merchant_id] ?? `#${r.merchant_id}`) },
      { key: "kind", label: t("merch.kind"), render: (r) => label("offer_kind", r.kind) },
      { key: "face", label: t("merch.face"), class: "num", render: (r) => fmt.fen(r.face_value_fen) },
      { key: "price", label: t("merch.price"), class: "num", render: (r) => [r.price_points ? t("unit.points", { count: r.price_points }) : null, r.price_airtime_fen ? fmt.fen(r.price_airtime_fen) : null].filter(Boolean).join(" / ") || "—" },
      { key: "stock", label: t("merch.stock"), class: "num", render: (r) => `${fmt.int(r.stock_left)} / ${fmt.int(r.stock_total)}` },
      { key: "valid", label: t("merch.valid"), class: "nowrap", render: (r) => `${fmt.date(pick(r, "valid_from", "starts_on"))} → ${fmt.date(pick(r, "valid_to", "ends_on"))}` },
      { key: "status", label: t("merch.status"), render: (r) => statusBadge(r.status) },
      { key: "actions", label: "", render: (r) => actionButtons("offers", r, list) },
    ], (paging) => get("/v1/alliance/offers", { status, ...paging }), { what: t("merch.offers"), empty: t("merch.no_offers") });
  }
  const tabItems = [["merchants", t("merch.tab.merchants")], ["offers", t("merch.tab.offers")]];
  if (ctx.can("readAds")) tabItems.push(["ads", t("merch.tab.ads")]);
  tabItems.push(["packs", t("merch.tab.packs")]);
  clear(el, page(t("nav.merchants"), { subtitle: t("merch.subtitle"), actions: [statusFilter] },
    tabs(tabItems, tab, (id) => ctx.go("merchants", [], { tab: id })), msg, list));
}

function secretNotice(name, c) {
  return notice("ok", h("strong", {}, t("merch.credentials_for", { name })), " ", t("merch.client_id"), " ", h("code", {}, c.client_id), " · ",
    t("merch.secret"), " ", h("code", { id: "client-secret" }, c.client_secret || t("merch.not_again")), " ", t("merch.copy_now"));
}

async function packsTab() {
  const wrap = h("div", {}, loading());
  const [packs, budgets] = await Promise.all([
    get("/v1/alliance/packs").catch((e) => e),
    get("/v1/alliance/budgets").catch((e) => e),
  ]);
  const fmtAmount = (asset, n) => (asset === "airtime_fen" ? fmt.fen(n) : asset === "data_mb" ? `${fmt.int(n)} MB` : t("unit.points", { count: n }));
  clear(wrap,
    card(t("merch.budgets"), budgets instanceof Error ? errorBox(budgets) : kv(Object.entries(budgets).map(([asset, n]) => [labelOr("asset", asset), fmtAmount(asset, n)]))),
    card(t("merch.packs"), packs instanceof Error ? errorBox(packs) : table([
      { key: "code", label: t("merch.code"), render: (r) => h("code", {}, r.code) },
      { key: "name", label: t("merch.pack_name") },
      { key: "asset", label: t("merch.asset"), render: (r) => label("asset", r.asset) },
      { key: "amount", label: t("merch.amount"), class: "num", render: (r) => fmtAmount(r.asset, r.amount) },
      { key: "price_fen", label: t("merch.pack_price"), class: "num", render: (r) => fmt.fen(r.price_fen) },
      { key: "active", label: t("merch.on_sale"), render: (r) => statusBadge(Boolean(r.active)) },
    ], listOf(packs), { empty: t("merch.no_packs") })));
  wrap.reload = () => {};
  return wrap;
}

async function renderMerchant(el, id, ctx) {
  clear(el, loading());
  const m = await attempt(el, t("merch.merchant"), () => get(`/v1/alliance/merchants/${encodeURIComponent(id)}`));
  if (!m) return;
  const msg = h("div");
  const admin = ctx.can("merchantCredentials");
  const clientAction = (c, action) => h("button", { class: `btn small ${action === "revoke" ? "danger" : ""}`, dataset: { action, client: c.client_id }, onclick: async (ev) => {
    if (!window.confirm(t(`merch.${action}_confirm`, { client: c.client_id }))) return;
    ev.target.disabled = true;
    try {
      const r = await post(`/v1/alliance/merchants/${m.id}/clients/${encodeURIComponent(c.client_id)}/${action}`, {});
      await renderMerchant(el, id, ctx);
      if (action === "rotate") el.prepend(secretNotice(m.name, r));
    } catch (err) {
      clear(msg, errorBox(err, t(`merch.${action}`)));
      ev.target.disabled = false;
    }
  } }, t(`merch.${action}`));
  const topup = admin ? card(t("merch.topup"), form([
    { name: "amount_yuan", label: t("merch.topup_amount"), type: "number", min: 0.01, max: 1000000, step: "0.01", required: true },
  ], {
    submit: t("merch.topup_button"),
    onSubmit: async (vals) => {
      const r = await post(`/v1/alliance/merchants/${m.id}/topups`, { amount_fen: Math.round(vals.amount_yuan * 100) });
      await renderMerchant(el, id, ctx);
      el.prepend(notice("ok", t("merch.topped_up", { balance: fmt.fen(r.balance_fen) })));
    },
  })) : null;
  clear(el, page(m.name, { subtitle: t("merch.detail_subtitle", { id: m.id }), actions: [h("a", { class: "btn", href: "#/merchants" }, t("merch.all"))] },
    msg,
    h("div", { class: "cols" },
      card(t("merch.profile"), kv([
        [t("merch.status"), statusBadge(m.status)],
        [t("merch.category"), labelOr("category", m.category)],
        [t("merch.contact"), `${fmt.text(m.contact_name)} · ${fmt.text(m.contact_phone_masked)}`],
        [t("merch.settlement_account"), h("span", { class: "mono" }, m.settlement_account_masked)],
        [t("merch.prepaid"), h("span", { id: "prepaid-balance" }, fmt.fen(m.prepaid_balance_fen))],
        [t("merch.applied"), fmt.date(m.created_at)],
        [t("merch.approved"), fmt.date(m.approved_at)],
        [t("merch.webhook"), fmt.text(m.webhook_url)],
      ]), h("p", {}, h("a", { href: `#/settlement?merchant_id=${m.id}` }, t("merch.statements_link")))),
      card(t("merch.stores"), table([
        { key: "name", label: t("merch.store") },
        { key: "address", label: t("merch.address"), class: "wrap" },
      ], m.stores || [], { empty: t("merch.no_stores") }))),
    card(t("merch.clients"), table([
      { key: "client_id", label: t("merch.client_id"), render: (c) => h("code", {}, c.client_id) },
      { key: "active", label: t("merch.active"), render: (c) => statusBadge(Boolean(c.active)) },
      { key: "created_at", label: t("merch.issued"), class: "nowrap", render: (c) => fmt.time(c.created_at) },
      { key: "revoked_at", label: t("merch.revoked"), class: "nowrap", render: (c) => fmt.time(c.revoked_at) },
      { key: "actions", label: "", render: (c) => (admin && c.active ? h("span", { class: "row-actions" }, clientAction(c, "rotate"), clientAction(c, "revoke")) : "") },
    ], m.clients || [], { empty: t("merch.no_clients") })),
    topup));
}

async function merchantNames() {
  const names = {};
  try { listOf(await get("/v1/alliance/merchants", { limit: 100 })).forEach((m) => { names[m.id] = m.name; }); } catch (e) { /* names are a nicety */ }
  return names;
}
