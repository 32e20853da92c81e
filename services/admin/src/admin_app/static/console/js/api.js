// The console's only way to the server: same-origin JSON calls to the admin API.
// Tokens live in sessionStorage (gone when the tab closes). A 401 triggers one refresh
// (shared by concurrent callers) and a single retry; if the refresh fails the user is signed out.
// Every call says which language the console shows (Accept-Language), for messages the API translates.

import { currentLang, t } from "./i18n.js";

const STORE = window.sessionStorage;
const ACCESS = "tenure.access";
const REFRESH = "tenure.refresh";

let refreshing = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    const detail = (body && body.detail) || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.error = (body && body.error) || "http_error";
    this.detail = detail;
    this.context = (body && body.context) || {};
  }

  // An unmatched route (a 404 whose context says no_route, in any language, or a 405) means the
  // endpoint is not built yet; a route's own 404 ("campaign not found") does not.
  get unavailable() {
    return (this.status === 404 && this.context.no_route === true) || this.status === 405;
  }

  get forbidden() {
    return this.status === 403;
  }
}

export function setSignedOutHandler(fn) {
  onSignedOut = fn;
}

export function hasSession() {
  return Boolean(STORE.getItem(ACCESS));
}

export function clearSession() {
  STORE.removeItem(ACCESS);
  STORE.removeItem(REFRESH);
}

function saveTokens(tokens) {
  STORE.setItem(ACCESS, tokens.access_token);
  if (tokens.refresh_token) STORE.setItem(REFRESH, tokens.refresh_token);
}

export function newKey(prefix = "console") {
  const rnd = window.crypto && window.crypto.randomUUID ? window.crypto.randomUUID() : String(Math.random()).slice(2);
  return `${prefix}-${rnd}`;
}

export function buildUrl(path, query) {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) v.forEach((item) => url.searchParams.append(k, item));
    else url.searchParams.set(k, v);
  }
  return url.pathname + url.search;
}

async function parse(resp) {
  const type = resp.headers.get("content-type") || "";
  if (resp.status === 204) return null;
  if (type.includes("application/json")) return resp.json();
  return resp.text();
}

async function send(method, path, { body, query, form, key, auth = true } = {}) {
  const headers = { Accept: "application/json", "Accept-Language": currentLang() };
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (auth && STORE.getItem(ACCESS)) headers.Authorization = `Bearer ${STORE.getItem(ACCESS)}`;
  if (method !== "GET" && method !== "HEAD") headers["Idempotency-Key"] = key || newKey();
  return fetch(buildUrl(path, query), { method, headers, body: payload, credentials: "same-origin" });
}

async function refreshTokens() {
  const token = STORE.getItem(REFRESH);
  if (!token) return false;
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const resp = await send("POST", "/v1/auth/refresh", { body: { refresh_token: token }, auth: false });
        if (!resp.ok) return false;
        saveTokens(await resp.json());
        return true;
      } catch (e) {
        return false;
      } finally {
        setTimeout(() => { refreshing = null; }, 0);
      }
    })();
  }
  return refreshing;
}

// request(method, path, {body, query, form, key}) -> parsed JSON; throws ApiError.
// Writes carry an Idempotency-Key: pass `key` to reuse one across retries of the same action.
export async function request(method, path, opts = {}) {
  const options = { ...opts, key: opts.key || (method !== "GET" ? newKey() : undefined) };
  const hadSession = hasSession();
  let resp = await send(method, path, options);
  if (resp.status === 401 && options.auth !== false && hadSession) {
    if (await refreshTokens()) {
      resp = await send(method, path, options);
    }
    if (resp.status === 401 && hasSession()) {
      clearSession();
      onSignedOut(t("signin.session_ended"));
    }
  }
  const data = await parse(resp);
  if (!resp.ok) throw new ApiError(resp.status, typeof data === "object" ? data : { detail: String(data).slice(0, 200) });
  return data;
}

export const get = (path, query) => request("GET", path, { query });
export const post = (path, body, opts = {}) => request("POST", path, { ...opts, body });
export const put = (path, body, opts = {}) => request("PUT", path, { ...opts, body });
export const patch = (path, body, opts = {}) => request("PATCH", path, { ...opts, body });
export const del = (path, opts = {}) => request("DELETE", path, opts);

export async function signIn(username, password) {
  clearSession();
  const resp = await send("POST", "/v1/auth/login", { body: { username, password }, auth: false, key: newKey("login") });
  const data = await parse(resp);
  if (!resp.ok) throw new ApiError(resp.status, data);
  saveTokens(data);
  return data;
}

// Fetch a file (CSV export) with the bearer token and hand it to the browser as a download.
export async function download(path, query, filename) {
  let resp = await send("GET", path, { query });
  if (resp.status === 401 && (await refreshTokens())) resp = await send("GET", path, { query });
  if (!resp.ok) throw new ApiError(resp.status, await parse(resp));
  const blob = await resp.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// List endpoints may answer a bare array or {items|data|results, total?, next_cursor?}.
export function listOf(data) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== "object") return [];
  return data.items || data.data || data.results || data.rows || [];
}

// Keyset paging as the API answers it: `next_after` → ?after=, `next_before` → ?before=.
export function pageInfo(data) {
  if (!data || Array.isArray(data)) return {};
  let next = null;
  if (data.next_after !== undefined && data.next_after !== null) {
    next = { after: data.next_after };
    if (data.next_after_kind) next.after_kind = data.next_after_kind; // keyset on (id, kind)
  }
  else if (data.next_before !== undefined && data.next_before !== null) next = { before: data.next_before };
  return { total: data.total ?? null, next };
}
