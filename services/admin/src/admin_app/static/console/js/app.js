// Console shell: language, sign-in, the menu by permission, and a hash router
// (#/screen/arg?query) that loads one screen module at a time from ./screens/.

import { ApiError, clearSession, get, hasSession, setSignedOutHandler, signIn } from "./api.js";
import { LANGUAGES, currentLang, label, rememberLang, setLang, storedLang, t } from "./i18n.js";
import { SCREENS, can, screensFor } from "./roles.js";
import { clear, errorBox, h, loading, notice } from "./ui.js";

const root = document.getElementById("app");
let me = null;
let shell = null;
let routeSeq = 0; // bumped on every navigation and sign-out; a slower, older render is dropped

function parseHash() {
  const raw = window.location.hash.replace(/^#\/?/, "");
  const [path, qs] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query = Object.fromEntries(new URLSearchParams(qs || ""));
  return { screen: parts[0] || "dashboard", args: parts.slice(1), query };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

function hashFor(screen, args = [], query = {}) {
  const qs = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== "")).toString();
  return `#/${[screen, ...args].map(encodeURIComponent).join("/")}${qs ? `?${qs}` : ""}`;
}

// ---- language -----------------------------------------------------------------------------
function languagePicker(id) {
  const select = h("select", { id, class: "lang-select", "aria-label": t("app.language") },
    LANGUAGES.map(([code, name]) => h("option", { value: code, selected: code === currentLang() }, name)));
  select.addEventListener("change", async () => {
    await setLang(select.value);
    rememberLang(select.value, me && me.username);
    if (me) {
      buildShell();
      route();
    } else {
      showSignIn();
    }
  });
  return select;
}

// ---- sign-in ------------------------------------------------------------------------------
function showSignIn(message) {
  me = null;
  shell = null;
  routeSeq += 1; // a screen still loading must not draw over the sign-in form
  root.className = "signin-root";
  document.title = t("app.title");
  const status = h("div", { class: "form-status", id: "signin-status" }, message ? notice("info", message) : null);
  const user = h("input", { name: "username", id: "username", autocomplete: "username", required: true, autofocus: true });
  const pass = h("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true });
  const btn = h("button", { class: "btn primary wide", type: "submit", id: "signin-button" }, t("signin.button"));
  const frm = h("form", { class: "signin-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "username" }, t("signin.username")), user),
    h("div", { class: "field" }, h("label", { for: "password" }, t("signin.password")), pass),
    status, btn);
  frm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!user.value || !pass.value) {
      clear(status, notice("error", t("signin.enter_both")));
      return;
    }
    btn.disabled = true;
    clear(status, loading(t("signin.signing_in")));
    try {
      await signIn(user.value.trim(), pass.value);
      await boot();
    } catch (err) {
      pass.value = "";
      if (err instanceof ApiError && err.status === 401) clear(status, notice("error", h("strong", {}, t("signin.failed")), " ", t("signin.wrong")));
      else clear(status, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  clear(root, h("div", { class: "signin" },
    h("div", { class: "signin-card" },
      h("div", { class: "signin-top" },
        h("div", { class: "brand big" }, h("span", { class: "logo" }, "T"), h("span", {}, t("app.brand"))),
        languagePicker("signin-lang")),
      h("p", { class: "muted" }, t("signin.tagline")),
      frm)));
}

setSignedOutHandler((msg) => showSignIn(msg));

// ---- shell --------------------------------------------------------------------------------
function buildShell() {
  root.className = "shell";
  const items = [];
  for (const s of screensFor(me)) {
    if (s.group) items.push(h("div", { class: "nav-group" }, t(`nav.group.${s.group}`)));
    items.push(h("a", { href: `#/${s.id}`, class: "nav-item", dataset: { screen: s.id } },
      h("span", { class: "nav-icon", "aria-hidden": "true" }, s.icon), h("span", { class: "nav-label" }, t(`nav.${s.id}`))));
  }
  const nav = h("nav", { class: "nav", id: "nav", "aria-label": t("app.main_menu") }, items);
  nav.addEventListener("click", (ev) => { if (ev.target.closest("a")) root.classList.remove("nav-open"); });
  const main = h("main", { class: "main", id: "main" });
  const signOut = h("button", { class: "btn small ghost", id: "signout", onclick: () => { clearSession(); showSignIn(t("signin.signed_out")); } }, t("app.sign_out"));
  const menuBtn = h("button", { class: "menu-toggle", id: "menu-toggle", type: "button", "aria-controls": "nav", "aria-label": t("ui.menu"),
    onclick: () => root.classList.toggle("nav-open") }, "☰");
  clear(root,
    h("aside", { class: "sidebar" },
      h("div", { class: "brand" }, menuBtn, h("span", { class: "logo" }, "T"), h("span", {}, t("app.brand"))),
      nav,
      h("div", { class: "whoami", id: "whoami" },
        h("div", { class: "who-name" }, me.full_name || me.username),
        h("div", { class: "who-role" }, `${label("role", me.role)}${me.org_unit_name ? ` · ${me.org_unit_name}` : ""}`),
        h("div", { class: "who-actions" }, languagePicker("lang"), signOut))),
    main);
  shell = { nav, main };
}

const ctx = {
  get me() { return me; },
  can: (action) => Boolean(me) && can(me, action),
  navigate,
  hashFor,
  go: (screen, args, query) => navigate(hashFor(screen, args, query)),
};

async function route() {
  if (!me || !shell) return;
  const { screen, args, query } = parseHash();
  const allowed = screensFor(me);
  const def = SCREENS.find((s) => s.id === screen);
  for (const a of shell.nav.querySelectorAll(".nav-item")) a.classList.toggle("active", a.dataset.screen === screen);
  const seq = ++routeSeq;
  if (!def) {
    clear(shell.main, notice("error", t("app.no_screen", { screen })));
    return;
  }
  const title = t(`nav.${def.id}`);
  if (!allowed.includes(def)) {
    clear(shell.main, notice("error", h("strong", {}, t("ui.not_allowed")), " ", t("app.screen_forbidden", { screen: title, role: label("role", me.role) })));
    return;
  }
  const { main } = shell;
  clear(main, loading());
  document.title = `${title} · ${t("app.title")}`;
  try {
    const module = await import(`./screens/${screen}.js`);
    if (seq !== routeSeq) return;
    const view = h("div", { class: "view", dataset: { screen } });
    clear(main, view);
    await module.render(view, { args, query, ctx });
  } catch (err) {
    if (seq === routeSeq) clear(main, errorBox(err, title));
  }
}

async function boot() {
  clear(root, loading(t("app.starting")));
  try {
    me = await get("/v1/me");
  } catch (err) {
    clearSession();
    showSignIn(err instanceof ApiError && err.status === 401 ? t("signin.please") : t("signin.unreachable", { detail: err.message }));
    return;
  }
  const lang = storedLang(me.username);
  if (lang !== currentLang()) await setLang(lang);
  buildShell();
  if (!window.location.hash || window.location.hash === "#" || window.location.hash === "#/") window.location.hash = "#/dashboard";
  else route();
}

window.addEventListener("hashchange", route);

async function start() {
  try {
    await setLang(storedLang(null));
  } catch (err) {
    clear(root, notice("error", String(err.message || err)));
    return;
  }
  if (hasSession()) boot();
  else showSignIn();
}

start();
