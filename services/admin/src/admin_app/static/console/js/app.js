// Console shell: sign-in, sidebar navigation by role, and a hash router (#/screen/arg?query)
// that loads one screen module at a time from ./screens/.

import { ApiError, clearSession, get, hasSession, setSignedOutHandler, signIn } from "./api.js";
import { ROLE_LABELS, SCREENS, can, screensFor } from "./roles.js";
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

// ---- sign-in ----------------------------------------------------------------------------
function showSignIn(message) {
  me = null;
  shell = null;
  routeSeq += 1; // a screen still loading must not draw over the sign-in form
  root.className = "signin-root";
  const status = h("div", { class: "form-status", id: "signin-status" }, message ? notice("info", message) : null);
  const user = h("input", { name: "username", id: "username", autocomplete: "username", required: true, autofocus: true });
  const pass = h("input", { name: "password", id: "password", type: "password", autocomplete: "current-password", required: true });
  const btn = h("button", { class: "btn primary wide", type: "submit", id: "signin-button" }, "Sign in");
  const frm = h("form", { class: "signin-form", novalidate: true },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), user),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), pass),
    status, btn);
  frm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!user.value || !pass.value) {
      clear(status, notice("error", "Enter your username and password."));
      return;
    }
    btn.disabled = true;
    clear(status, loading("Signing in…"));
    try {
      await signIn(user.value.trim(), pass.value);
      await boot();
    } catch (err) {
      pass.value = "";
      if (err instanceof ApiError && err.status === 401) clear(status, notice("error", h("strong", {}, "Sign-in failed: "), "wrong username or password."));
      else clear(status, errorBox(err));
    } finally {
      btn.disabled = false;
    }
  });
  clear(root, h("div", { class: "signin" },
    h("div", { class: "signin-card" },
      h("div", { class: "brand big" }, h("span", { class: "logo" }, "T"), h("span", {}, "Tenure")),
      h("p", { class: "muted" }, "Back office · customer retention"),
      frm)));
}

setSignedOutHandler((msg) => showSignIn(msg));

// ---- shell ------------------------------------------------------------------------------
function buildShell() {
  root.className = "shell";
  const nav = h("nav", { class: "nav", "aria-label": "Main" },
    screensFor(me.role).map((s) => h("a", { href: `#/${s.id}`, class: "nav-item", dataset: { screen: s.id } },
      h("span", { class: "nav-icon", "aria-hidden": "true" }, s.icon), s.label)));
  const main = h("main", { class: "main", id: "main" });
  const signOut = h("button", { class: "btn small ghost", id: "signout", onclick: () => { clearSession(); showSignIn("You have signed out."); } }, "Sign out");
  clear(root,
    h("aside", { class: "sidebar" },
      h("div", { class: "brand" }, h("span", { class: "logo" }, "T"), h("span", {}, "Tenure")),
      nav,
      h("div", { class: "whoami", id: "whoami" },
        h("div", { class: "who-name" }, me.full_name || me.username),
        h("div", { class: "who-role" }, `${ROLE_LABELS[me.role] || me.role}${me.org_unit_name ? ` · ${me.org_unit_name}` : ""}`),
        signOut)),
    main);
  shell = { nav, main };
}

const ctx = {
  get me() { return me; },
  can: (action) => Boolean(me) && can(me.role, action),
  navigate,
  hashFor,
  go: (screen, args, query) => navigate(hashFor(screen, args, query)),
};

async function route() {
  if (!me || !shell) return;
  const { screen, args, query } = parseHash();
  const allowed = screensFor(me.role);
  const def = SCREENS.find((s) => s.id === screen);
  for (const a of shell.nav.querySelectorAll(".nav-item")) a.classList.toggle("active", a.dataset.screen === screen);
  const seq = ++routeSeq;
  if (!def) {
    clear(shell.main, notice("error", `There is no screen called “${screen}”.`));
    return;
  }
  if (!allowed.includes(def)) {
    clear(shell.main, notice("error", h("strong", {}, "Not allowed: "), `the ${def.label} screen is not available to the ${ROLE_LABELS[me.role] || me.role} role.`));
    return;
  }
  const { main } = shell;
  clear(main, loading());
  document.title = `${def.label} · Tenure back office`;
  try {
    const module = await import(`./screens/${screen}.js`);
    if (seq !== routeSeq) return;
    const view = h("div", { class: "view", dataset: { screen } });
    clear(main, view);
    await module.render(view, { args, query, ctx });
  } catch (err) {
    if (seq === routeSeq) clear(main, errorBox(err, def.label));
  }
}

async function boot() {
  clear(root, loading("Starting…"));
  try {
    me = await get("/v1/me");
  } catch (err) {
    clearSession();
    showSignIn(err instanceof ApiError && err.status === 401 ? "Please sign in." : `Could not reach the server: ${err.message}`);
    return;
  }
  buildShell();
  if (!window.location.hash || window.location.hash === "#" || window.location.hash === "#/") window.location.hash = "#/dashboard";
  else route();
}

window.addEventListener("hashchange", route);

if (hasSession()) boot();
else showSignIn();
