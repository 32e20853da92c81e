// Languages of the console: one message catalogue per language (../i18n/<lang>.json, flat keys),
// t(key, params) to look a message up, and Intl formats for numbers, ¥ and dates in the current
// language. zh-CN is the default; the choice is remembered per signed-in user in localStorage
// (and the last choice on this device, for the sign-in screen).
//
// A key that the current catalogue lacks is shown as the key itself and recorded in
// window.__i18n.missing, which the browser tests read on every screen.

export const LANGUAGES = [["zh-CN", "中文"], ["en", "English"]];
export const DEFAULT_LANG = "zh-CN";
const INTL_LOCALE = { "zh-CN": "zh-CN", en: "en-GB" };
export const TIME_ZONE = "Asia/Shanghai"; // the operator's time: every staff member sees the same day
const LAST = "tenure.lang";

let lang = DEFAULT_LANG;
let messages = {};
let plurals = new Intl.PluralRules(INTL_LOCALE[DEFAULT_LANG]);
const catalogues = {};
const missing = new Set();
window.__i18n = { missing, get lang() { return lang; } };

function store() {
  try { return window.localStorage; } catch (e) { return null; } // storage can be switched off
}

export function currentLang() {
  return lang;
}

// The language to use for `username` (their own choice, else this device's last, else zh-CN).
export function storedLang(username) {
  const s = store();
  const v = s && ((username && s.getItem(`${LAST}:${username}`)) || s.getItem(LAST));
  return LANGUAGES.some(([l]) => l === v) ? v : DEFAULT_LANG;
}

export function rememberLang(l, username) {
  const s = store();
  if (!s) return;
  s.setItem(LAST, l);
  if (username) s.setItem(`${LAST}:${username}`, l);
}

export async function setLang(l) {
  const want = LANGUAGES.some(([x]) => x === l) ? l : DEFAULT_LANG;
  if (!catalogues[want]) {
    const resp = await fetch(new URL(`../i18n/${want}.json`, import.meta.url), { headers: { Accept: "application/json" } });
    if (!resp.ok) throw new Error(`message catalogue ${want}: HTTP ${resp.status}`);
    catalogues[want] = await resp.json();
  }
  messages = catalogues[want];
  lang = want;
  plurals = new Intl.PluralRules(INTL_LOCALE[want]);
  formats = makeFormats(INTL_LOCALE[want]);
  document.documentElement.lang = want;
}

function fill(msg, params) {
  return msg.replace(/\{(\w+)\}/g, (m, k) => (params[k] === undefined || params[k] === null ? m : String(params[k])));
}

// t("camp.launched", {members: 12, …}). A message may be {"one": …, "other": …}: params.count picks the
// form, and {count} is printed with digit grouping.
export function t(key, params = {}) {
  let msg = messages[key];
  if (msg === undefined) {
    missing.add(key);
    return key;
  }
  if (typeof msg === "object") {
    const n = Number(params.count);
    msg = msg[plurals.select(n)] ?? msg.other;
    params = { ...params, count: Number.isFinite(n) ? formats.int(n) : params.count };
  }
  return fill(msg, params);
}

export function has(key) {
  return messages[key] !== undefined;
}

// Like t(), but params may be DOM nodes (links, code): returns an array of strings and nodes.
export function tx(key, params = {}) {
  const marks = {};
  for (const [k, v] of Object.entries(params)) marks[k] = v instanceof Node ? `\u0001${k}\u0001` : v;
  return t(key, marks).split(/\u0001(\w+)\u0001/).map((part, i) => (i % 2 ? params[part] : part)).filter((p) => p !== "");
}

// Labels of closed value sets (tiers, stages, statuses, …): a value without a label is a missing key.
export function label(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  return t(`enum.${kind}.${value}`);
}

// Labels of open value sets (touch outcomes, complaint categories): the raw value when unlabelled.
export function labelOr(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  const msg = messages[`enum.${kind}.${value}`];
  return msg === undefined ? String(value).replaceAll("_", " ") : msg;
}

export function options(kind, values) {
  return values.map((v) => [v, label(kind, v)]);
}

// ---- formats ------------------------------------------------------------------------------
const DASH = "—";
const none = (v) => v === null || v === undefined || v === "" || Number.isNaN(Number(v));

function parseDay(v) {
  const m = /^(\d{4})-(\d{2})(?:-(\d{2}))?$/.exec(String(v));
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3] || 1))) : null;
}

function makeFormats(loc) {
  const int = new Intl.NumberFormat(loc, { maximumFractionDigits: 0 });
  const money = new Intl.NumberFormat(loc, { style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol" });
  const money0 = new Intl.NumberFormat(loc, { style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol", maximumFractionDigits: 0 });
  const compact = new Intl.NumberFormat(loc, { notation: "compact", maximumFractionDigits: 1 });
  const fixed = {};
  const pct = {};
  const fixedOf = (d) => (fixed[d] ||= new Intl.NumberFormat(loc, { minimumFractionDigits: d, maximumFractionDigits: d }));
  const pctOf = (d) => (pct[d] ||= new Intl.NumberFormat(loc, { style: "percent", minimumFractionDigits: d, maximumFractionDigits: d }));
  const day = { year: "numeric", month: "short", day: "numeric" };
  const dayUtc = new Intl.DateTimeFormat(loc, { ...day, timeZone: "UTC" });
  const dayLocal = new Intl.DateTimeFormat(loc, { ...day, timeZone: TIME_ZONE });
  const monthUtc = new Intl.DateTimeFormat(loc, { year: "numeric", month: "short", timeZone: "UTC" });
  const monthAxis = new Intl.DateTimeFormat(loc, { year: "2-digit", month: "short", timeZone: "UTC" });
  const anyOf = new Intl.ListFormat(loc, { type: "disjunction" });
  const allOf = new Intl.ListFormat(loc, { type: "conjunction" });
  const timeLocal = new Intl.DateTimeFormat(loc, { ...day, hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: TIME_ZONE });
  return {
    int: (v) => (none(v) ? DASH : int.format(Number(v))),
    num: (v, digits = 3) => (none(v) ? DASH : fixedOf(digits).format(Number(v))),
    pct: (v, digits = 1) => (none(v) ? DASH : pctOf(digits).format(Number(v))),
    fen: (v) => (none(v) ? DASH : money.format(Number(v) / 100)),
    yuan: (v) => (none(v) ? DASH : money0.format(Number(v))),
    compact: (v) => (none(v) ? DASH : compact.format(Number(v))),
    // "2026-11-23" (a calendar day) or an ISO timestamp (shown as its day in Asia/Shanghai)
    date: (v) => {
      if (!v) return DASH;
      const d = parseDay(v);
      if (d) return dayUtc.format(d);
      const at = new Date(v);
      return Number.isNaN(at.getTime()) ? String(v) : dayLocal.format(at);
    },
    month: (v) => {
      if (!v) return DASH;
      const d = parseDay(String(v).slice(0, 7));
      return d ? monthUtc.format(d) : String(v);
    },
    // short form for chart axes: "26年11月" / "Nov 26"
    monthAxis: (v) => {
      if (!v) return DASH;
      const d = parseDay(String(v).slice(0, 7));
      return d ? monthAxis.format(d) : String(v);
    },
    time: (v) => {
      if (!v) return DASH;
      const at = new Date(v);
      return Number.isNaN(at.getTime()) ? String(v) : timeLocal.format(at);
    },
    text: (v) => (v === null || v === undefined || v === "" ? DASH : typeof v === "object" ? JSON.stringify(v) : String(v)),
    // "A, B or C" (alternatives) / "A, B and C" (all of them), in the language's punctuation
    anyOf: (items) => (items.length ? anyOf.format(items.map(String)) : DASH),
    allOf: (items) => (items.length ? allOf.format(items.map(String)) : DASH),
  };
}

let formats = makeFormats(INTL_LOCALE[DEFAULT_LANG]);

// Percentage points (campaign uplift): "+50.0 pp" / "+50.0个百分点".
function pp(v, digits = 1) {
  if (none(v)) return DASH;
  const n = Number(v) * 100;
  return t("unit.pp", { v: `${n >= 0 ? "+" : "−"}${formats.num(Math.abs(n), digits)}` });
}

// Stable object whose members always use the current language.
export const fmt = {
  int: (v) => formats.int(v),
  num: (v, digits) => formats.num(v, digits),
  pct: (v, digits) => formats.pct(v, digits),
  fen: (v) => formats.fen(v),
  yuan: (v) => formats.yuan(v),
  compact: (v) => formats.compact(v),
  date: (v) => formats.date(v),
  month: (v) => formats.month(v),
  monthAxis: (v) => formats.monthAxis(v),
  time: (v) => formats.time(v),
  text: (v) => formats.text(v),
  anyOf: (items) => formats.anyOf(items),
  allOf: (items) => formats.allOf(items),
  pp,
};
