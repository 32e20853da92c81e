// What each back-office role may see and do in the console. The API enforces its one permission
// table (shared/backoffice/permissions.py) and GET /v1/me lists the caller's permissions, so the
// menu and the buttons follow that table; the alliance routes that admit roles directly
// (admin, operator, auditor) are mirrored with `roles`. Each entry names the API route it stands
// for, and tests/services/admin/test_console_roles.py checks that the roles the console admits
// are exactly the roles that route admits. Keep one entry per line in this format.

export const ALLIANCE_READERS = ["admin", "operator", "auditor"];

// Screens in menu order; the label is the catalogue's nav.<id>. `group` starts a menu section.
export const SCREENS = [
  { id: "dashboard", icon: "◧", group: "overview", perm: "any", api: "GET /v1/console/overview" },
  { id: "customers", icon: "☺", group: "customers", perm: "customers.read", api: "GET /v1/customers" },
  { id: "fourhigh", icon: "⚠", perm: "analyse", api: "GET /v1/four-high/flags" },
  { id: "clusters", icon: "⁂", perm: "analyse", api: "GET /v1/engine/clusters" },
  { id: "tags", icon: "#", perm: "analyse", api: "GET /v1/tags" },
  { id: "tiers", icon: "★", perm: "any", api: "GET /v1/tiers/rules" },
  { id: "models", icon: "∿", perm: "analyse", api: "GET /v1/models" },
  { id: "campaigns", icon: "➤", group: "marketing", perm: "campaigns.read", api: "GET /v1/campaigns" },
  { id: "strategies", icon: "⚑", perm: "analyse", api: "GET /v1/strategies" },
  { id: "products", icon: "▦", perm: "products.read", api: "GET /v1/products" },
  { id: "programme", icon: "✓", perm: "any", api: "GET /v1/programme/rules" },
  { id: "merchants", icon: "⌂", group: "alliance", roles: ALLIANCE_READERS, api: "GET /v1/alliance/merchants" },
  { id: "settlement", icon: "¥", roles: ALLIANCE_READERS, api: "GET /v1/alliance/statements" },
  { id: "reports", icon: "▤", group: "reports", perm: "reports.read", api: "GET /v1/reports/touches" },
  { id: "kpis", icon: "◎", perm: "reports.read", api: "GET /v1/reports/manager-kpis" },
  { id: "incentives", icon: "♦", perm: "operate", api: "GET /v1/incentives/statements" },
  { id: "engine", icon: "⚙", group: "system", perm: "any", api: "GET /v1/engine/runs" },
  { id: "imports", icon: "⇪", perm: "imports.read", api: "GET /v1/imports" },
  { id: "jobs", icon: "⟳", perm: "jobs.read", api: "GET /v1/jobs" },
  { id: "staff", icon: "♟", perm: "org.read", api: "GET /v1/org-units" },
  { id: "capacity", icon: "▥", perm: "assignments.read", api: "GET /v1/assignments/capacity" },
  { id: "audit", icon: "⚖", perm: "audit.read", api: "GET /v1/audit" },
];

// Actions inside screens.
export const ACTIONS = {
  unmask: { perm: "customers.unmask", api: "GET /v1/customers/{customer_id}?unmask=true" },
  editCampaign: { perm: "campaigns.write", api: "POST /v1/campaigns" },
  launchCampaign: { perm: "campaigns.launch", api: "POST /v1/campaigns/{campaign_id}/launch" },
  readReports: { perm: "reports.read", api: "GET /v1/reports/campaigns" },
  editStrategy: { perm: "strategy", api: "POST /v1/strategies" },
  editTag: { perm: "strategy", api: "POST /v1/tags" },
  editTier: { perm: "strategy", api: "PUT /v1/tiers/rules/{tier}" },
  approveMerchant: { perm: "operate", api: "POST /v1/alliance/merchants/{merchant_id}/{action}" },
  merchantCredentials: { perm: "admin", api: "POST /v1/alliance/merchants/{merchant_id}/clients" },
  readAds: { perm: "ads.read", api: "GET /v1/ads" },
  generateStatements: { perm: "operate", api: "POST /v1/alliance/statements/generate" },
  settleStatement: { perm: "operate", api: "POST /v1/alliance/statements/{statement_id}/settle" },
  activateModel: { perm: "analyse", api: "POST /v1/models/{version}/activate" },
  trainModel: { perm: "analyse", api: "POST /v1/models/train" },
  importData: { perm: "imports.write", api: "POST /v1/imports" },
  readImports: { perm: "imports.read", api: "GET /v1/imports/{import_id}" },
  retryJob: { perm: "jobs.write", api: "POST /v1/jobs/{job_id}/retry" },
  editSchedule: { perm: "jobs.write", api: "PUT /v1/jobs/schedules/{name}" },
  viewStaff: { perm: "staff.read", api: "GET /v1/staff" },
  editStaff: { perm: "staff.write", api: "POST /v1/staff" },
  viewAssignments: { perm: "assignments.read", api: "GET /v1/assignments" },
  moveAssignments: { perm: "assignments.write", api: "POST /v1/assignments/move" },
  editCapacity: { perm: "staff.write", api: "PATCH /v1/staff/{staff_id}" },
  readSegments: { perm: "analyse", api: "GET /v1/engine/segments" },
  nameCluster: { perm: "strategy", api: "PATCH /v1/engine/clusters/{cluster_id}" },
  startRun: { perm: "operate", api: "POST /v1/engine/runs" },
  readEngineSettings: { perm: "analyse", api: "GET /v1/engine/settings/{key}" },
  editEngineSettings: { perm: "strategy", api: "PUT /v1/engine/settings/{key}" },
  editProgramme: { perm: "operate", api: "PUT /v1/programme/rules/{key}" },
  runPointsJobs: { perm: "admin", api: "POST /v1/ledger/points/accrual-runs" },
  editProduct: { perm: "products.write", api: "POST /v1/products" },
  editIncentives: { perm: "operate", api: "PUT /v1/incentives/rules" },
  readCareEffect: { perm: "analyse", api: "GET /v1/four-high/care-effect" },
};

function allowed(entry, me) {
  if (!entry || !me) return false;
  if (entry.roles) return entry.roles.includes(me.role);
  return (me.permissions || []).includes(entry.perm);
}

export function screensFor(me) {
  return SCREENS.filter((s) => allowed(s, me));
}

export function can(me, action) {
  return allowed(ACTIONS[action], me);
}
