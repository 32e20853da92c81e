-- One chunk of the feature view: every non-churned customer with lo < id <= hi.
-- last_month is the latest usage month on or before the run day; m3 / m6 are the months
-- 3 and 6 before it (exclusive lower bounds). Windows on events end at as_of (local midnight).
WITH u AS (
    SELECT customer_id,
        count(*) AS months,
        avg(bill_fen) FILTER (WHERE month > CAST(:m3 AS date)) AS arpu3,
        avg(bill_fen) FILTER (WHERE month <= CAST(:m3 AS date)) AS arpu_prev3,
        avg(bill_fen) AS arpu6,
        sum(bill_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS last_bill,
        avg(voice_min) FILTER (WHERE month > CAST(:m3 AS date)) AS voice3,
        avg(voice_min) FILTER (WHERE month <= CAST(:m3 AS date)) AS voice_prev3,
        avg(data_mb) FILTER (WHERE month > CAST(:m3 AS date)) AS data3,
        avg(data_mb) FILTER (WHERE month <= CAST(:m3 AS date)) AS data_prev3,
        avg(sms) FILTER (WHERE month > CAST(:m3 AS date)) AS sms3,
        sum(voice_min) FILTER (WHERE month > CAST(:m3 AS date)) AS voice_used3,
        sum(voice_allowance_min) FILTER (WHERE month > CAST(:m3 AS date)) AS voice_allow3,
        sum(data_mb) FILTER (WHERE month > CAST(:m3 AS date)) AS data_used3,
        sum(data_allowance_mb) FILTER (WHERE month > CAST(:m3 AS date)) AS data_allow3,
        sum(greatest(voice_allowance_min - voice_min, 0)) FILTER (WHERE month = CAST(:last_month AS date)) AS unused_voice,
        sum(greatest(data_allowance_mb - data_mb, 0)) FILTER (WHERE month = CAST(:last_month AS date)) AS unused_data,
        sum(active_days) FILTER (WHERE month = CAST(:last_month AS date)) AS active_days,
        sum(payg_data_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS payg_last,
        avg(payg_data_fen) FILTER (WHERE month > CAST(:m3 AS date)) AS payg3,
        sum(roaming_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS roaming_last,
        sum(long_distance_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS ld_last,
        avg(roaming_fen + long_distance_fen) FILTER (WHERE month > CAST(:m3 AS date)) AS roam_ld3,
        sum(balance_end_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS balance,
        sum(topup_fen) FILTER (WHERE month > CAST(:m3 AS date)) AS topup3,
        sum(topup_count) FILTER (WHERE month > CAST(:m3 AS date)) AS topups3,
        sum(broadband_gb) FILTER (WHERE month = CAST(:last_month AS date)) AS broadband,
        sum(plan_fee_fen) FILTER (WHERE month = CAST(:last_month AS date)) AS plan_fee_last
    FROM monthly_usage
    -- the range stays in a subset pass (the marker is not right after it): it bounds the scan of each
    -- usage partition, which the id array alone turned into a sequential scan
    WHERE customer_id > :lo AND customer_id <= :hi AND month > CAST(:m6 AS date) AND month <= CAST(:last_month AS date) /*subset customer_id*/
    GROUP BY customer_id
),
cp AS (
    SELECT customer_id,
        count(*) AS n90,
        count(*) FILTER (WHERE category = 'network') AS network,
        count(*) FILTER (WHERE category IN ('tariff', 'billing')) AS tariff,
        count(*) FILTER (WHERE category = 'service') AS service,
        count(*) FILTER (WHERE NOT resolved) AS unresolved,
        min(satisfaction) AS min_sat
    FROM complaints
    WHERE customer_id > :lo AND customer_id <= :hi /*subset customer_id*/
      AND occurred_at > CAST(:as_of AS timestamptz) - interval '90 days' AND occurred_at <= CAST(:as_of AS timestamptz)
    GROUP BY customer_id
),
cc AS (
    SELECT customer_id,
        count(*) FILTER (WHERE called_at > CAST(:as_of AS timestamptz) - interval '30 days') AS n30,
        count(*) AS n90
    FROM competitor_calls
    WHERE customer_id > :lo AND customer_id <= :hi /*subset customer_id*/
      AND called_at > CAST(:as_of AS timestamptz) - interval '90 days' AND called_at <= CAST(:as_of AS timestamptz)
    GROUP BY customer_id
),
hs AS (
    SELECT DISTINCT ON (h.customer_id) h.customer_id, h.brand, h.price_band, h.dual_sim, h.started_on,
        count(*) FILTER (WHERE h.started_on > CAST(:run_date AS date) - 365) OVER (PARTITION BY h.customer_id) AS recent
    FROM handsets h
    WHERE h.customer_id > :lo AND h.customer_id <= :hi /*subset h.customer_id*/ AND h.started_on <= CAST(:run_date AS date)
    ORDER BY h.customer_id, h.started_on DESC, h.id DESC
),
sb AS (
    -- silent: a running service with something to use (broadband, membership, data or voice
    -- pack) not used for 30 days; contracts, recharge bonuses and family links are never "used"
    SELECT sub.customer_id,
        count(*) AS active,
        count(*) FILTER (WHERE pr.kind IN ('broadband', 'membership', 'data_pack', 'voice_pack')
                           AND coalesce(sub.last_used_on, sub.starts_on) < CAST(:run_date AS date) - 30) AS silent
    FROM subscriptions sub
    JOIN products pr ON pr.id = sub.product_id
    WHERE sub.customer_id > :lo AND sub.customer_id <= :hi /*subset sub.customer_id*/ AND sub.status = 'active'
    GROUP BY sub.customer_id
),
tc AS (
    SELECT customer_id, channel,
        count(*) AS n,
        count(*) FILTER (WHERE outcome = ANY(:success_outcomes)) AS ok,
        -- contact pressure: only outbound touches count toward the monthly cap (inbound contact,
        -- hotline, hall, app, is the customer's own; shared.touches.service counts the same)
        count(*) FILTER (WHERE occurred_at >= CAST(:month_start_ts AS timestamptz)
                           AND channel = ANY(CAST(:outbound AS text[]))) AS this_month,
        count(*) FILTER (WHERE outcome = 'refused' AND occurred_at > CAST(:as_of AS timestamptz) - interval '30 days') AS refused
    FROM touches
    WHERE customer_id > :lo AND customer_id <= :hi /*subset customer_id*/
      AND occurred_at > CAST(:as_of AS timestamptz) - interval '180 days' AND occurred_at <= CAST(:as_of AS timestamptz)
    GROUP BY customer_id, channel
),
tt AS (
    SELECT customer_id, sum(n) AS n, sum(ok) AS ok, sum(this_month) AS this_month, sum(refused) AS refused,
        (array_agg(channel ORDER BY (ok + 1.0) / (n + 2.0) DESC, ok DESC, channel) FILTER (WHERE ok > 0))[1] AS best
    FROM tc
    GROUP BY customer_id
)
SELECT c.id AS customer_id,
    c.branch_id,
    c.plan_id,
    c.tier,
    c.gender,
    CASE WHEN c.birthday IS NOT NULL THEN date_part('year', age(CAST(:run_date AS date), c.birthday))::int END AS age_years,
    greatest((date_part('year', age(CAST(:run_date AS date), c.join_date)) * 12 + date_part('month', age(CAST(:run_date AS date), c.join_date)))::int, 0) AS tenure_months,
    coalesce(u.months, 0) AS months_of_usage,
    coalesce(p.monthly_fee_fen, u.plan_fee_last, 0) AS plan_fee_fen,
    coalesce(round(u.arpu3), 0) AS arpu_fen,
    coalesce(round(u.arpu6), 0) AS arpu_6m_fen,
    coalesce(u.last_bill, 0) AS last_bill_fen,
    CASE WHEN u.arpu_prev3 > 0 THEN round((u.arpu3 / u.arpu_prev3 - 1)::numeric, 4) ELSE 0 END AS arpu_trend_3m,
    CASE WHEN u.arpu6 > 0 THEN round((coalesce(u.last_bill, 0) / u.arpu6 - 1)::numeric, 4) ELSE 0 END AS arpu_trend_6m,
    coalesce(round(u.voice3), 0) AS voice_min,
    coalesce(round(u.data3), 0) AS data_mb,
    coalesce(round(u.sms3), 0) AS sms,
    CASE WHEN u.voice_prev3 > 0 THEN round((u.voice3 / u.voice_prev3 - 1)::numeric, 4) ELSE 0 END AS voice_trend_3m,
    CASE WHEN u.data_prev3 > 0 THEN round((u.data3 / u.data_prev3 - 1)::numeric, 4) ELSE 0 END AS data_trend_3m,
    CASE WHEN u.voice_allow3 > 0 THEN round((u.voice_used3::numeric / u.voice_allow3), 4) ELSE 0 END AS voice_use_ratio,
    CASE WHEN u.data_allow3 > 0 THEN round((u.data_used3::numeric / u.data_allow3), 4) ELSE 0 END AS data_use_ratio,
    coalesce(u.unused_voice, 0) AS unused_voice_min,
    coalesce(u.unused_data, 0) AS unused_data_mb,
    coalesce(u.active_days, 0) AS active_days,
    coalesce(sb.active, 0) AS active_subscriptions,
    coalesce(sb.silent, 0) AS silent_services,
    coalesce(u.payg_last, 0) AS payg_data_fen,
    coalesce(round(u.payg3), 0) AS payg_data_3m_fen,
    coalesce(u.roaming_last, 0) AS roaming_fen,
    coalesce(u.ld_last, 0) AS long_distance_fen,
    coalesce(round(u.roam_ld3), 0) AS roaming_ld_3m_fen,
    coalesce(u.balance, 0) AS balance_fen,
    coalesce(u.topup3, 0) AS topup_3m_fen,
    coalesce(u.topups3, 0) AS topup_count_3m,
    coalesce(u.broadband, 0) AS broadband_gb,
    coalesce(cp.n90, 0) AS complaints_90d,
    coalesce(cp.network, 0) AS complaints_network_90d,
    coalesce(cp.tariff, 0) AS complaints_tariff_90d,
    coalesce(cp.service, 0) AS complaints_service_90d,
    coalesce(cp.unresolved, 0) AS unresolved_complaints,
    cp.min_sat AS min_satisfaction,
    coalesce(cc.n30, 0) AS competitor_calls_30d,
    coalesce(cc.n90, 0) AS competitor_calls_90d,
    hs.brand AS handset_brand,
    hs.price_band AS handset_price_band,
    CASE WHEN hs.started_on IS NOT NULL THEN (date_part('year', age(CAST(:run_date AS date), hs.started_on)) * 12 + date_part('month', age(CAST(:run_date AS date), hs.started_on)))::int END AS handset_age_months,
    coalesce(hs.dual_sim, false) AS dual_sim,
    greatest(coalesce(hs.recent, 0) - CASE WHEN c.join_date > CAST(:run_date AS date) - 365 THEN 1 ELSE 0 END, 0) AS handset_changes_12m,
    c.contract_end,
    c.birthday,
    c.join_date,
    coalesce(tt.n, 0) AS touches_180d,
    coalesce(tt.ok, 0) AS touch_successes_180d,
    coalesce(tt.this_month, 0) AS touches_this_month,
    coalesce(tt.refused, 0) AS refusals_30d,
    tt.best AS best_channel,
    c.do_not_disturb
FROM customers c
LEFT JOIN products p ON p.id = c.plan_id
LEFT JOIN u ON u.customer_id = c.id
LEFT JOIN cp ON cp.customer_id = c.id
LEFT JOIN cc ON cc.customer_id = c.id
LEFT JOIN hs ON hs.customer_id = c.id
LEFT JOIN sb ON sb.customer_id = c.id
LEFT JOIN tt ON tt.customer_id = c.id
WHERE c.id > :lo AND c.id <= :hi /*subset c.id*/ AND c.status <> 'churned'
