-- shared.ledger.bulk: the ledger half of a set-based posting that credits customers' accounts,
-- opening them on the fly. Follows the caller's CTE `postings` (one row per transaction, keys
-- unique: key, kind, reference, memo, asset, debit_id, credit_id (ignored), amount > 0,
-- customer_id, expires_on); the credit goes to the customer's (asset, customer) account.
-- Defines posted_txns, posted, posted_credits, posted_locks, posted_debits, posted_accounts,
-- posted_refused, posted_legs (see shared/ledger/bulk.py). A key posted before is skipped.
-- Lock order: the credited customer accounts first (the upsert), then the debited accounts in
-- id order; debit accounts must not be customer accounts credited by the same statement.
posted_txns AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT key, kind, reference, memo FROM postings
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
), posted AS (
    SELECT t.id AS txn_id, p.* FROM posted_txns t JOIN postings p ON p.key = t.idempotency_key
), posted_credits AS (
    INSERT INTO ledger_accounts (asset, kind, owner_id, customer_id, balance, allow_negative)
    SELECT asset, 'customer', customer_id, customer_id, sum(amount)::bigint, false FROM posted GROUP BY asset, customer_id
    ON CONFLICT (asset, kind, owner_id) WHERE owner_id IS NOT NULL
    DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
    RETURNING id, asset, owner_id AS customer_id, balance
), posted_locks AS MATERIALIZED (
    SELECT a.id AS account_id, d.delta
    FROM ledger_accounts a
    JOIN (SELECT debit_id AS account_id, -sum(amount)::bigint AS delta FROM posted GROUP BY debit_id) d
      ON d.account_id = a.id
    ORDER BY a.id
    FOR UPDATE OF a
), posted_debits AS (
    UPDATE ledger_accounts a SET balance = a.balance + l.delta
    FROM posted_locks l
    WHERE a.id = l.account_id AND (a.allow_negative OR a.balance + l.delta >= 0)
    RETURNING a.id, a.balance
), posted_accounts AS (
    SELECT id, balance FROM posted_credits
    UNION ALL
    SELECT id, balance FROM posted_debits
), posted_refused AS (
    SELECT account_id FROM posted_locks WHERE account_id NOT IN (SELECT id FROM posted_debits)
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
