-- "My account at a glance" in ONE statement (one round trip instead of eight): the customer row,
-- tier benefits, plan, active add-ons, airtime balance net of arrears, negative when in arrears
-- (or the signed opening balance the account would open with, as shared.ledger.airtime.airtime_balance_fen), points balance and the soonest
-- expiring points still held (FIFO by expiry, as shared.points.service.expiring).
-- Every part is keyed by the one customer id; nothing is created or written.
WITH c AS (
    SELECT id, name, phone, tier, status, join_date, plan_id FROM customers WHERE id = CAST(:cid AS bigint)
), pts AS (
    SELECT id, balance FROM ledger_accounts
    WHERE asset = 'points' AND kind = 'customer' AND owner_id = CAST(:cid AS bigint)
), e AS (
    SELECT amount, expires_on FROM ledger_entries WHERE account_id = (SELECT id FROM pts)
), debits AS (
    SELECT coalesce(-sum(amount), 0) AS used FROM e WHERE amount < 0
), running AS (
    SELECT expires_on, earned,
           sum(earned) OVER (ORDER BY expires_on NULLS LAST ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
    FROM (SELECT expires_on, sum(amount) AS earned FROM e WHERE amount > 0 GROUP BY expires_on) credits
)
SELECT c.name, c.phone, c.tier, c.status, c.join_date,
       coalesce((SELECT to_jsonb(t.benefits) FROM tier_rules t WHERE t.tier = c.tier), '[]'::jsonb) AS tier_benefits,
       (SELECT jsonb_build_object('id', p.id, 'code', p.code, 'name', p.name, 'monthly_fee_fen', p.monthly_fee_fen,
                                  'data_mb', p.data_mb, 'voice_min', p.voice_min, 'sms', p.sms)
        FROM products p WHERE p.id = c.plan_id) AS plan,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('id', a.id, 'product_name', a.name, 'kind', a.kind,
                                                     'starts_on', a.starts_on, 'ends_on', a.ends_on)
                                  ORDER BY a.id DESC), '[]'::jsonb)
        FROM (SELECT s.id, p.name, p.kind, s.starts_on, s.ends_on
              FROM subscriptions s JOIN products p ON p.id = s.product_id
              WHERE s.customer_id = c.id AND s.status = 'active'
              ORDER BY s.id DESC LIMIT 200) a) AS addons,
       coalesce((SELECT sum(balance) FROM ledger_accounts
                 WHERE asset = 'airtime_fen' AND kind IN ('customer', 'arrears') AND owner_id = c.id),
                (SELECT coalesce(u.balance_end_fen, 0) FROM monthly_usage u
                 WHERE u.customer_id = c.id ORDER BY u.month DESC LIMIT 1),
                0)::bigint AS balance_fen,
       coalesce((SELECT balance FROM pts), 0) AS points,
       (SELECT jsonb_build_object('expires_on', r.expires_on, 'points', least(r.earned, r.cum - d.used))
        FROM running r, debits d
        WHERE r.cum - d.used > 0 AND r.expires_on IS NOT NULL
        ORDER BY r.expires_on LIMIT 1) AS points_expiring_next
FROM c
