-- Monthly accrual for customers in (:lo, :hi]: points by tier and bill for :month plus a tenure
-- bonus, credited from :src with expires_on = :expires_on. One ledger txn per customer per month
-- (key points_accrual:<customer>:<YYYY-MM>): a re-run or an overlapping run posts nothing twice.
-- Credits only, so no balance guard is needed; balances move in one UPDATE ... FROM.
WITH r AS (SELECT CAST(:rule AS jsonb) AS v), src AS (
    SELECT c.id AS customer_id, a.id AS account_id,
           least(
               coalesce((r.v->>'max_points_per_month')::bigint, 5000),
               floor(u.bill_fen / 100.0 * coalesce((r.v->'per_yuan'->>c.tier)::numeric, 1))::bigint
               + least(coalesce((r.v->>'tenure_cap_years')::int, 10),
                       extract(year FROM age(:month_end, c.join_date))::int)
                 * coalesce((r.v->>'tenure_points_per_year')::int, 0)
           ) AS amount
    FROM r, customers c
    JOIN monthly_usage u ON u.customer_id = c.id AND u.month = :month
    JOIN ledger_accounts a ON a.asset = 'points' AND a.kind = 'customer' AND a.owner_id = c.id
    WHERE c.id > :lo AND c.id <= :hi AND c.status = 'active'
), amounts AS (
    SELECT src.*, 'points_accrual:' || customer_id || ':' || :month_s AS key FROM src WHERE amount > 0
), txns AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT key, 'points_accrual', 'customer:' || customer_id,
           jsonb_build_object('month', :month_s, 'amount', amount)
    FROM amounts
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, idempotency_key
), moved AS (
    SELECT t.id AS txn_id, m.account_id, m.customer_id, m.amount
    FROM txns t JOIN amounts m ON t.idempotency_key = m.key
), legs AS (
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id, expires_on)
    SELECT txn_id, account_id, 'points', amount, customer_id, CAST(:expires_on AS date) FROM moved
    UNION ALL
    SELECT txn_id, :src, 'points', -amount, customer_id, NULL FROM moved
    RETURNING account_id, amount
), upd AS (
    UPDATE ledger_accounts a SET balance = a.balance + p.delta
    FROM (SELECT account_id, sum(amount) AS delta FROM legs GROUP BY account_id) p
    WHERE a.id = p.account_id
    RETURNING a.id
)
SELECT count(*) AS customers, coalesce(sum(amount), 0) AS points, (SELECT count(*) FROM upd) AS updated
FROM moved
