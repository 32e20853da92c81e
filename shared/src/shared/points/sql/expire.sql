-- Expire, for customer points accounts in (:lo, :hi], every credit whose expires_on < :today that
-- has not already been consumed (FIFO: all debits, including earlier expiries, use the soonest-
-- expiring credits first). One ledger txn per account, keyed per (account, day): re-running is a
-- no-op. The caller has already locked the accounts (SELECT ... FOR UPDATE) in an earlier
-- statement, so this statement's snapshot sees every committed entry of those accounts.
-- The ledger half is shared.ledger.bulk's block (between accounts), spliced in below at import.
WITH due AS (
    SELECT a.id AS account_id, a.customer_id, a.balance,
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0 AND e.expires_on < :today), 0) AS expired_credits,
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS used
    FROM ledger_accounts a
    JOIN ledger_entries e ON e.account_id = a.id
    WHERE a.asset = 'points' AND a.kind = 'customer' AND a.balance > 0
      AND a.id > :lo AND a.id <= :hi
    GROUP BY a.id
), postings AS (
    SELECT 'points_expiry:' || account_id || ':' || :today_s AS key, 'points_expiry'::text AS kind,
           'customer:' || customer_id AS reference,
           jsonb_build_object('amount', least(balance, expired_credits - used), 'as_of', :today_s) AS memo,
           'points'::text AS asset, account_id AS debit_id, CAST(:sink AS bigint) AS credit_id,
           least(balance, expired_credits - used)::bigint AS amount, customer_id, NULL::date AS expires_on
    FROM due WHERE expired_credits - used > 0
),
{ledger_posting}
SELECT count(*) AS accounts, coalesce(sum(amount), 0) AS points, (SELECT count(*) FROM posted_accounts) AS updated,
       (SELECT count(*) FROM posted_refused) AS refused
FROM posted
