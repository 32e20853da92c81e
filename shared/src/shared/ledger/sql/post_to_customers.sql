-- shared.ledger.bulk: the ledger half of a set-based posting that credits customers' accounts,
-- opening them on the fly, from ONE debit account (an issuance shard). Follows the caller's CTE
-- `postings` (one row per transaction, keys unique, at most one row per customer and asset: key,
-- kind, reference, memo, asset, debit_id (the same in every row), credit_id (ignored),
-- amount > 0, customer_id, expires_on); the credit goes to the customer's (asset, customer) account.
-- Defines posted_txns, posted, posted_credits, posted_debits, posted_accounts, posted_refused,
-- posted_legs (see shared/ledger/bulk.py). A key posted before is skipped. Lock order: the
-- credited customer accounts (the upsert), then the debit account; the debit account must not be
-- a customer account credited by the same statement. Kept this lean for the check-in hot path.
posted_txns AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT key, kind, reference, memo FROM postings
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
), posted AS (
    SELECT t.id AS txn_id, p.* FROM posted_txns t JOIN postings p ON p.key = t.idempotency_key
), posted_credits AS (
    INSERT INTO ledger_accounts (asset, kind, owner_id, customer_id, balance, allow_negative)
    SELECT asset, 'customer', customer_id, customer_id, amount, false FROM posted
    ON CONFLICT (asset, kind, owner_id) WHERE owner_id IS NOT NULL
    DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
    RETURNING id, asset, owner_id AS customer_id, balance
), posted_debits AS (
    UPDATE ledger_accounts a SET balance = a.balance + d.delta
    FROM (SELECT debit_id AS account_id, -sum(amount)::bigint AS delta FROM posted GROUP BY debit_id) d
    WHERE a.id = d.account_id AND (a.allow_negative OR a.balance + d.delta >= 0)
    RETURNING a.id, a.balance
), posted_accounts AS (
    SELECT id, balance FROM posted_credits
    UNION ALL
    SELECT id, balance FROM posted_debits
), posted_refused AS (
    SELECT DISTINCT debit_id AS account_id FROM posted WHERE debit_id NOT IN (SELECT id FROM posted_debits)
), posted_legs AS (
    -- no legs on a refused account: its transactions stay unbalanced and cannot commit
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id, expires_on)
    SELECT p.txn_id, c.id, p.asset, p.amount, p.customer_id, p.expires_on
    FROM posted p JOIN posted_credits c ON c.customer_id = p.customer_id AND c.asset = p.asset
    UNION ALL
    SELECT p.txn_id, p.debit_id, p.asset, -p.amount, p.customer_id, NULL FROM posted p
    WHERE p.debit_id IN (SELECT id FROM posted_debits)
    RETURNING txn_id, account_id, amount
)
