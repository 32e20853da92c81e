-- One merchant, one period of local days [period_start, period_end] in :tz.
-- Every figure comes from the source rows (redemptions, coupons, pack_gifts) and the ledger
-- (the merchant's prepaid account and pack purchase transactions), so a statement can be
-- recomputed from scratch at any time and compared with the stored one.
WITH bounds AS (
    SELECT (CAST(:period_start AS date)::timestamp AT TIME ZONE :tz) AS lo,
           ((CAST(:period_end AS date) + 1)::timestamp AT TIME ZONE :tz) AS hi
), red AS (
    SELECT count(*) AS n, coalesce(sum(r.settlement_fen), 0) AS fen
    FROM redemptions r, bounds b
    WHERE r.merchant_id = :merchant_id AND r.created_at >= b.lo AND r.created_at < b.hi
), rev AS (
    SELECT count(*) AS n, coalesce(sum(r.settlement_fen), 0) AS fen
    FROM redemptions r, bounds b
    WHERE r.merchant_id = :merchant_id AND r.reversed_at >= b.lo AND r.reversed_at < b.hi
), sold AS (
    SELECT count(*) AS n, coalesce(sum(c.paid_points), 0) AS points, coalesce(sum(c.paid_airtime_fen), 0) AS airtime_fen
    FROM coupons c, bounds b
    WHERE c.merchant_id = :merchant_id AND c.created_at >= b.lo AND c.created_at < b.hi
), gifts AS (
    SELECT count(*) AS n, coalesce(sum(g.price_fen), 0) AS fen
    FROM pack_gifts g, bounds b
    WHERE g.merchant_id = :merchant_id AND g.created_at >= b.lo AND g.created_at < b.hi
), gift_assets AS (
    SELECT coalesce(jsonb_object_agg(asset, total), '{}'::jsonb) AS by_asset FROM (
        SELECT p.asset, sum(p.amount) AS total
        FROM pack_gifts g JOIN operator_packs p ON p.id = g.pack_id, bounds b
        WHERE g.merchant_id = :merchant_id AND g.created_at >= b.lo AND g.created_at < b.hi
        GROUP BY p.asset) x
), prepaid AS (
    SELECT coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS credited,
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS drawn,
           coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0 AND t.kind = 'alliance.pack_purchase'), 0) AS packs_paid,
           coalesce(sum(e.amount) FILTER (WHERE e.amount > 0 AND t.kind = 'alliance.merchant_topup'), 0) AS topups
    FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id
    JOIN ledger_txns t ON t.id = e.txn_id, bounds b
    WHERE a.kind = 'merchant' AND a.asset = 'airtime_fen' AND a.owner_id = :merchant_id
      AND e.created_at >= b.lo AND e.created_at < b.hi
)
SELECT jsonb_build_object(
    'redemptions', jsonb_build_object('count', red.n, 'settlement_fen', red.fen),
    'reversals', jsonb_build_object('count', rev.n, 'settlement_fen', rev.fen),
    'coupons_sold', jsonb_build_object('count', sold.n, 'points', sold.points, 'airtime_fen', sold.airtime_fen),
    'packs', jsonb_build_object('count', gifts.n, 'price_fen', gifts.fen, 'ledger_paid_fen', prepaid.packs_paid,
                                'resources', gift_assets.by_asset),
    'prepaid', jsonb_build_object('topups_fen', prepaid.topups, 'credited_fen', prepaid.credited, 'drawn_fen', prepaid.drawn)
) AS lines,
    red.fen - rev.fen AS net_redemptions_fen,
    prepaid.topups AS topups_fen
FROM red, rev, sold, gifts, gift_assets, prepaid
