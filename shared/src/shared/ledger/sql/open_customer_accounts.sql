-- shared.ledger.bulk.open_customer_accounts: zero-balance customer accounts of one asset for the
-- customer ids the caller's SELECT returns, before a set-based posting credits them.
INSERT INTO ledger_accounts (asset, kind, owner_id, customer_id, balance, allow_negative)
SELECT '{asset}', 'customer', o.customer_id, o.customer_id, 0, false
FROM ({customers}) o
ON CONFLICT (asset, kind, owner_id) WHERE owner_id IS NOT NULL DO NOTHING
