"""Merchant alliance: onboarding, offers, coupon exchange and issue, till redemption, operator
resources (budgets, merchant prepaid accounts, gift packs), settlement and webhooks.

Domain code only (no FastAPI): functions take `session` first, never commit, and raise
`shared.errors` classes.
"""
