"""Principal aliases for the customer app: only customer tokens for this audience pass."""

from shared.auth.principals import CUSTOMER_ROLE
from shared.web.deps import require

CurrentCustomer = require(CUSTOMER_ROLE)
