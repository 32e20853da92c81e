"""Principal alias for the alliance API: merchant client-credentials tokens only."""

from shared.auth.principals import MERCHANT_ROLE
from shared.web.deps import require

CurrentMerchant = require(MERCHANT_ROLE)
