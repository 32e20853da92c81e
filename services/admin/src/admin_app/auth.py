"""Principal aliases for the back office. Roles: admin, analyst, strategist, operator, auditor, branch_head."""
from shared.web.deps import require

AnyStaff = require("admin", "analyst", "strategist", "operator", "auditor", "branch_head")
AdminOnly = require("admin")
Operators = require("admin", "operator")
Strategists = require("admin", "strategist")
Analysts = require("admin", "analyst", "strategist")
Auditors = require("admin", "auditor")
