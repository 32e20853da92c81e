"""Principal aliases for the manager app."""

from shared.web.deps import require

CurrentStaff = require("account_manager", "branch_head", "hall_staff")
CurrentManager = require("account_manager", "branch_head")
CurrentHallStaff = require("hall_staff", "branch_head")
CurrentBranchHead = require("branch_head")
