-- Expire, for customer points accounts in (:lo, :hi], every credit whose expires_on < :today that
-- has not already been consumed (FIFO: all debits, including earlier expiries, use the soonest-
-- expiring credits first). One ledger txn per account, keyed per (account, day): re-running is a
-- no-op. The caller has already locked the accounts (SELECT ... FOR UPDATE) in an earlier
-- statement, so this statement's snapshot sees every committed entry of those accounts.
WITH due AS (
    SELECT a.id AS account_id, a.customer_id, a.balance,
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0 AND e.expires_on < :today), 0) AS expired_credits,
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS used
    FROM ledger_accounts a
    JOIN ledger_entries e ON e.account_id = a.id
    WHERE a.asset = 'points' AND a.kind = 'customer' AND a.balance > 0
      AND a.id > :lo AND a.id <= :hi
    GROUP BY a.id
), amounts AS (
    SELECT account_id, customer_id, least(balance, expired_credits - used) AS amount,
           'points_expiry:' || account_id || ':' || :today_s AS key
    FROM due WHERE expired_credits - used > 0
), txns AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT key, 'points_expiry', 'customer:' || customer_id,
           jsonb_build_object('amount', amount, 'as_of', :today_s)
    FROM amounts
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
), moved AS (
    SELECT t.id AS txn_id, m.account_id, m.customer_id, m.amount
    FROM txns t JOIN amounts m ON t.idempotency_key = m.key
), legs AS (
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id)
    SELECT txn_id, account_id, 'points', -amount, customer_id FROM moved
    UNION ALL
    SELECT txn_id, :sink, 'points', amount, customer_id FROM moved
    RETURNING account_id, amount
), upd AS (
    UPDATE ledger_accounts a SET balance = a.balance + p.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM legs GROUP BY account_id) p
    WHERE a.id = p.account_id
    RETURNING a.id
)
SELECT count(*) AS accounts, coalesce(sum(amount), 0) AS points, (SELECT count(*) FROM upd) AS updated
FROM moved
