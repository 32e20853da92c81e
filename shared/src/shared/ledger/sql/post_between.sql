-- shared.ledger.bulk: the ledger half of a set-based posting between existing accounts.
-- Follows the caller's CTE `postings` (one row per transaction, keys unique: key, kind,
-- reference, memo, asset, debit_id, credit_id, amount > 0, customer_id, expires_on).
-- Defines posted_txns, posted, posted_locks, posted_accounts, posted_refused, posted_legs
-- (see shared/ledger/bulk.py). A key posted before is skipped; a concurrent duplicate waits on
-- the UNIQUE key, then is skipped. Accounts are locked in id order before any balance moves;
-- each balance moves once (the net of its legs), guarded where it may not go negative.
posted_txns AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT key, kind, reference, memo FROM postings
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
), posted AS (
    SELECT t.id AS txn_id, p.* FROM posted_txns t JOIN postings p ON p.key = t.idempotency_key
), posted_locks AS MATERIALIZED (
    SELECT a.id AS account_id, d.delta
    FROM ledger_accounts a
    JOIN (SELECT account_id, sum(delta)::bigint AS delta
          FROM (SELECT debit_id AS account_id, -amount AS delta FROM posted
                UNION ALL
                SELECT credit_id, amount FROM posted) m
          GROUP BY account_id) d ON d.account_id = a.id
    ORDER BY a.id
    FOR UPDATE OF a
), posted_accounts AS (
    UPDATE ledger_accounts a SET balance = a.balance + l.delta
    FROM posted_locks l
    WHERE a.id = l.account_id AND (a.allow_negative OR a.balance + l.delta >= 0)
    RETURNING a.id, a.balance
), posted_refused AS (
    SELECT account_id FROM posted_locks WHERE account_id NOT IN (SELECT id FROM posted_accounts)
), posted_legs AS (
    -- no legs on a refused account: its transactions stay unbalanced, so even a caller that
    -- ignored the refusal could not commit (the deferred balance trigger refuses them)
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id, expires_on)
    SELECT p.txn_id, p.debit_id, p.asset, -p.amount, p.customer_id, NULL FROM posted p
    WHERE p.debit_id IN (SELECT id FROM posted_accounts)
    UNION ALL
    SELECT p.txn_id, p.credit_id, p.asset, p.amount, p.customer_id, p.expires_on FROM posted p
    WHERE p.credit_id IN (SELECT id FROM posted_accounts)
    RETURNING txn_id, account_id, amount
)
