// What each back-office role may see and do in the console. The API enforces the same rules;
// this only hides what a role cannot use so the navigation stays honest. Mirrors the table in
// shared/backoffice/permissions.py.

export const ROLE_LABELS = {
  admin: "Administrator",
  analyst: "Analyst",
  strategist: "Strategist",
  operator: "Operator",
  auditor: "Auditor",
  branch_head: "Branch head",
};

const ALL = Object.keys(ROLE_LABELS);

export const SCREENS = [
  { id: "dashboard", label: "Dashboard", icon: "◧", roles: ALL },
  { id: "customers", label: "Customers", icon: "☺", roles: ["admin", "analyst", "strategist", "operator", "branch_head"] },
  { id: "campaigns", label: "Campaigns", icon: "➤", roles: ["admin", "analyst", "strategist", "operator", "branch_head", "auditor"] },
  { id: "strategies", label: "Strategies", icon: "⚑", roles: ["admin", "strategist", "analyst"] },
  { id: "tags", label: "Tags", icon: "#", roles: ["admin", "strategist", "analyst"] },
  { id: "tiers", label: "Tiers", icon: "★", roles: ["admin", "strategist", "analyst"] },
  { id: "merchants", label: "Merchants & offers", icon: "⌂", roles: ["admin", "operator"] },
  { id: "models", label: "Churn models", icon: "∿", roles: ["admin", "analyst", "strategist"] },
  { id: "imports", label: "Data imports", icon: "⇪", roles: ["admin", "analyst", "auditor"] },
  { id: "staff", label: "Staff & assignments", icon: "♟", roles: ["admin", "operator", "branch_head", "auditor", "analyst"] },
  { id: "audit", label: "Audit log", icon: "⚖", roles: ["admin", "auditor"] },
];

// Actions inside screens.
export const ACTIONS = {
  unmask: ["admin"],
  editCampaign: ["admin", "strategist"],
  launchCampaign: ["admin", "operator"],
  editStrategy: ["admin", "strategist"],
  editTag: ["admin", "strategist"],
  editTier: ["admin", "strategist"],
  approveMerchant: ["admin", "operator"],
  merchantCredentials: ["admin"],
  activateModel: ["admin", "analyst"],
  trainModel: ["admin", "analyst"],
  importData: ["admin", "analyst"],
  viewStaff: ["admin", "operator", "branch_head", "auditor"],
  editStaff: ["admin"],
  viewAssignments: ["admin", "operator", "branch_head", "analyst"],
  moveAssignments: ["admin", "operator", "branch_head"],
};

export function screensFor(role) {
  return SCREENS.filter((s) => s.roles.includes(role));
}

export function can(role, action) {
  return (ACTIONS[action] || []).includes(role);
}
