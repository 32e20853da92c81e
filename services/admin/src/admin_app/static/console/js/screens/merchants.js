// Alliance merchants and their offers: approve, suspend or end merchants; approve or reject offers.

import { del, get, listOf, post } from "../api.js";
import { clear, errorBox, fmt, h, notice, page, pagedTable, pick, statusBadge, tabs } from "../ui.js";

const MERCHANT_ACTIONS = { applied: ["approve", "reject"], pending: ["approve", "reject"], approved: ["suspend", "end"], suspended: ["approve", "end"] };
const OFFER_ACTIONS = { pending: ["approve", "reject"] };
const AD_ACTIONS = { pending: ["approve", "reject"], approved: ["withdraw"] };

export async function render(el, { query, ctx }) {
  const tab = query.tab || "merchants";
  const status = query.status || "";
  const msg = h("div");
  const statuses = { merchants: ["applied", "approved", "suspended", "rejected", "ended"], offers: ["pending", "approved", "rejected", "ended"], ads: ["pending", "approved", "withdrawn"] }[tab] || [];
  const statusFilter = h("select", { id: "status-filter", onchange: (ev) => ctx.go("merchants", [], { tab, status: ev.target.value }) },
    ["", ...statuses].map((s) => h("option", { value: s, selected: s === status }, s || "any status")));
  const actionButtons = (kind, row, table) => {
    if (!ctx.can("approveMerchant")) return "";
    const acts = ({ merchants: MERCHANT_ACTIONS, offers: OFFER_ACTIONS, ads: AD_ACTIONS }[kind])[row.status] || [];
    const credentials = kind === "merchants" && row.status === "approved" && ctx.can("merchantCredentials")
      ? h("button", { class: "btn small", dataset: { action: "credentials", id: row.id }, onclick: async (ev) => {
        if (!window.confirm(`Issue API credentials to “${row.name}”? The secret is shown once.`)) return;
        ev.target.disabled = true;
        try {
          const c = await post(`/v1/alliance/merchants/${row.id}/clients`, {});
          clear(msg, notice("ok", h("strong", {}, `Credentials for ${row.name}: `), "client id ", h("code", {}, c.client_id), ", secret ",
            h("code", { id: "client-secret" }, c.client_secret || "(not shown again)"), ". Copy the secret now: it is stored only as a hash and cannot be shown again."));
        } catch (err) {
          clear(msg, errorBox(err, "Issuing credentials"));
        } finally {
          ev.target.disabled = false;
        }
      } }, "issue credentials") : null;
    return h("span", { class: "page-actions" }, credentials, acts.map((a) => h("button", {
      class: `btn small ${a === "approve" ? "primary" : ["reject", "end", "withdraw"].includes(a) ? "danger" : ""}`,
      dataset: { action: a, id: row.id },
      onclick: async (ev) => {
        let reason = null;
        if (kind === "ads" && a === "reject") {
          reason = window.prompt(`Why is “${row.title}” rejected? (kept in the audit log)`, "");
          if (!reason) return;
        } else if (a !== "approve" && !window.confirm(`${a[0].toUpperCase()}${a.slice(1)} “${row.name || row.title || row.id}”? This is recorded in the audit log.`)) return;
        ev.target.disabled = true;
        clear(msg);
        try {
          if (kind === "ads" && a === "withdraw") await del(`/v1/ads/${row.id}`);
          else if (kind === "ads") await post(`/v1/ads/${row.id}/${a}`, reason ? { reason } : {});
          else await post(`/v1/alliance/${kind}/${row.id}/${a}`, {});
          table.reload();
        } catch (err) {
          clear(msg, errorBox(err, `${a} ${kind}`));
          ev.target.disabled = false;
        }
      },
    }, a)));
  };
  let table;
  if (tab === "merchants") {
    table = pagedTable([
      { key: "id", label: "ID", class: "num" },
      { key: "name", label: "Merchant" },
      { key: "category", label: "Category" },
      { key: "contact_name", label: "Contact", render: (r) => `${fmt.text(r.contact_name)} · ${fmt.text(pick(r, "contact_phone_masked", "contact_phone"))}` },
      { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
      { key: "created_at", label: "Applied", class: "nowrap", render: (r) => fmt.date(r.created_at) },
      { key: "approved_at", label: "Approved", class: "nowrap", render: (r) => fmt.date(r.approved_at) },
      { key: "actions", label: "", render: (r) => actionButtons("merchants", r, table) },
    ], (paging) => get("/v1/alliance/merchants", { status, ...paging }), { what: "Merchant list", empty: "No merchants with this status." });
  } else if (tab === "ads") {
    const names = await merchantNames();
    table = pagedTable([
      { key: "id", label: "ID", class: "num" },
      { key: "title", label: "Banner", class: "wrap", render: (r) => h("div", {}, h("strong", {}, r.title), r.body ? h("div", { class: "muted" }, r.body) : null) },
      { key: "merchant", label: "Placed by", render: (r) => (r.merchant_id ? fmt.text(names[r.merchant_id] ?? `merchant #${r.merchant_id}`) : "operator") },
      { key: "targets", label: "Targets", class: "wrap", render: (r) => [...(r.target_tiers || []), ...(r.target_segments || [])].join(", ") || "everyone" },
      { key: "window", label: "Shown", class: "nowrap", render: (r) => `${fmt.date(r.starts_at)} → ${fmt.date(r.ends_at)}` },
      { key: "priority", label: "Priority", class: "num" },
      { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
      { key: "actions", label: "", render: (r) => actionButtons("ads", r, table) },
    ], (paging) => get("/v1/ads", { status, ...paging }), { what: "Ads", empty: "No banners with this status." });
  } else {
    const names = await merchantNames();
    table = pagedTable([
      { key: "id", label: "ID", class: "num" },
      { key: "title", label: "Offer", render: (r) => fmt.text(pick(r, "title", "name")) },
      { key: "merchant", label: "Merchant", render: (r) => fmt.text(pick(r, "merchant_name") ?? names[r.merchant_id] ?? `#${r.merchant_id}`) },
      { key: "kind", label: "Kind" },
      { key: "face", label: "Face value", class: "num", render: (r) => fmt.fen(r.face_value_fen) },
      { key: "price", label: "Price", class: "num", render: (r) => [r.price_points ? `${fmt.int(r.price_points)} pts` : null, r.price_airtime_fen ? fmt.fen(r.price_airtime_fen) : null].filter(Boolean).join(" / ") || "—" },
      { key: "stock", label: "Stock", class: "num", render: (r) => `${fmt.int(r.stock_left)} / ${fmt.int(r.stock_total)}` },
      { key: "valid", label: "Valid", class: "nowrap", render: (r) => `${fmt.date(pick(r, "valid_from", "starts_on"))} → ${fmt.date(pick(r, "valid_to", "ends_on"))}` },
      { key: "status", label: "Status", render: (r) => statusBadge(r.status) },
      { key: "actions", label: "", render: (r) => actionButtons("offers", r, table) },
    ], (paging) => get("/v1/alliance/offers", { status, ...paging }), { what: "Offer list", empty: "No offers with this status." });
  }
  clear(el, page("Merchants & offers", { subtitle: "Local merchants in the alliance, the coupons, privileges and memberships they offer, and the banners they place.", actions: [statusFilter] },
    tabs([["merchants", "Merchants"], ["offers", "Offers"], ["ads", "Merchant ads"]], tab, (id) => ctx.go("merchants", [], { tab: id })), msg, table));
}

async function merchantNames() {
  const names = {};
  try { listOf(await get("/v1/alliance/merchants", { limit: 100 })).forEach((m) => { names[m.id] = m.name; }); } catch (e) { /* names are a nicety */ }
  return names;
}
