-- Monthly accrual for customers in (:lo, :hi]: points by tier and bill for :month plus a tenure
-- bonus, credited from :src with expires_on = :expires_on. One ledger txn per customer per month
-- (key points_accrual:<customer>:<YYYY-MM>): a re-run or an overlapping run posts nothing twice.
-- The ledger half is shared.ledger.bulk's block (between accounts), spliced in below at import:
-- it locks the accounts in id order and moves each balance once.
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
), postings AS (
    SELECT 'points_accrual:' || customer_id || ':' || :month_s AS key, 'points_accrual'::text AS kind,
           'customer:' || customer_id AS reference, jsonb_build_object('month', :month_s, 'amount', amount) AS memo,
           'points'::text AS asset, CAST(:src AS bigint) AS debit_id, account_id AS credit_id, amount, customer_id,
           CAST(:expires_on AS date) AS expires_on
    FROM src WHERE amount > 0
),
{ledger_posting}
SELECT count(*) AS customers, coalesce(sum(amount), 0) AS points, (SELECT count(*) FROM posted_accounts) AS updated,
       (SELECT count(*) FROM posted_refused) AS refused
FROM posted
