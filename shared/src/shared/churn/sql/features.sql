-- One row per customer in (:lo, :hi]: churn features as of the end of cut-off month :m, and the
-- label (churned within the horizon after it). Every feature is float8 and NaN when unknown, so
-- the caller reads the rows straight into a float matrix.
-- Params: :lo :hi (customer id range); :m first day of the cut-off month; :m_3 and :m_5 the first
-- days of the months 3 and 5 before it (the 6-month window is [:m_5, :m]); :cutoff_end = :m + 1
-- month; :label_end = :cutoff_end + horizon months; :sample keeps rows whose id hash falls under
-- :sample of 10000. The ELIGIBLE placeholder below is one of two fixed fragments from features.py.
-- Every aggregate carries the same sample condition as `base`: Postgres does not push a join's
-- filter into a grouped subquery, so without it a 20 % sample aggregated every customer's rows.
-- Aggregates over non-integer values (ratios, variances) run in numeric, whose sums are exact: a
-- float8 sum depends on the order rows arrive in, which follows the plan, and a last-bit change
-- at a tree split moved risk levels on a rerun over unchanged data. Integer float8 sums are exact.
WITH base AS (
    SELECT c.id, c.join_date, c.contract_end, c.churned_on
    FROM customers c
    WHERE c.id > CAST(:lo AS bigint) AND c.id <= CAST(:hi AS bigint)
      AND c.join_date < CAST(:cutoff_end AS date)
      AND {ELIGIBLE}
      AND (CAST(:sample AS int) >= 10000 OR abs(hashint8(c.id)) % 10000 < CAST(:sample AS int))
),
u AS (
    SELECT mu.customer_id,
           count(*) AS months_observed,
           max(mu.bill_fen::float8) FILTER (WHERE mu.month = CAST(:m AS date)) AS bill_last,
           avg(mu.bill_fen::float8) FILTER (WHERE mu.month >= CAST(:m_3 AS date) AND mu.month < CAST(:m AS date)) AS bill_prior,
           avg(mu.bill_fen::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS bill_recent3,
           avg(mu.bill_fen::float8) FILTER (WHERE mu.month <= CAST(:m_3 AS date)) AS bill_prev3,
           avg(mu.bill_fen::float8) AS bill_avg6,
           stddev_pop(mu.bill_fen)::float8 AS bill_sd6,
           max(mu.voice_min::float8) FILTER (WHERE mu.month = CAST(:m AS date)) AS voice_last,
           avg(mu.voice_min::float8) FILTER (WHERE mu.month >= CAST(:m_3 AS date) AND mu.month < CAST(:m AS date)) AS voice_prior,
           avg(mu.voice_min::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS voice_recent3,
           avg(mu.voice_min::float8) FILTER (WHERE mu.month <= CAST(:m_3 AS date)) AS voice_prev3,
           max(mu.data_mb::float8) FILTER (WHERE mu.month = CAST(:m AS date)) AS data_last,
           avg(mu.data_mb::float8) FILTER (WHERE mu.month >= CAST(:m_3 AS date) AND mu.month < CAST(:m AS date)) AS data_prior,
           avg(mu.data_mb::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS data_recent3,
           avg(mu.data_mb::float8) FILTER (WHERE mu.month <= CAST(:m_3 AS date)) AS data_prev3,
           (stddev_pop(mu.data_mb) / nullif(avg(mu.data_mb), 0))::float8 AS data_cv6,
           max(mu.active_days::float8) FILTER (WHERE mu.month = CAST(:m AS date)) AS active_days_last,
           avg(mu.active_days::float8) FILTER (WHERE mu.month >= CAST(:m_3 AS date) AND mu.month < CAST(:m AS date)) AS active_days_prior,
           avg(mu.voice_min::numeric / nullif(mu.voice_allowance_min, 0)) FILTER (WHERE mu.month > CAST(:m_3 AS date))::float8 AS voice_use3,
           avg(mu.data_mb::numeric / nullif(mu.data_allowance_mb, 0)) FILTER (WHERE mu.month > CAST(:m_3 AS date))::float8 AS data_use3,
           avg(mu.payg_data_fen::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS payg_data3,
           avg((mu.roaming_fen + mu.long_distance_fen)::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS roam_ld3,
           sum(mu.topup_count::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS topups3,
           sum(mu.topup_fen::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS topup_fen3,
           max(mu.balance_end_fen::float8) FILTER (WHERE mu.month = CAST(:m AS date)) AS balance_last,
           avg(mu.broadband_gb::float8) FILTER (WHERE mu.month > CAST(:m_3 AS date)) AS broadband3
    FROM monthly_usage mu
    WHERE mu.customer_id > CAST(:lo AS bigint) AND mu.customer_id <= CAST(:hi AS bigint)
      AND (CAST(:sample AS int) >= 10000 OR abs(hashint8(mu.customer_id)) % 10000 < CAST(:sample AS int))
      AND mu.month >= CAST(:m_5 AS date) AND mu.month <= CAST(:m AS date)
    GROUP BY mu.customer_id
),
cp AS (
    SELECT k.customer_id,
           count(*) AS complaints_90d,
           count(*) FILTER (WHERE NOT k.resolved) AS complaints_open_90d,
           min(k.satisfaction) AS satisfaction_min_90d
    FROM complaints k
    WHERE k.customer_id > CAST(:lo AS bigint) AND k.customer_id <= CAST(:hi AS bigint)
      AND (CAST(:sample AS int) >= 10000 OR abs(hashint8(k.customer_id)) % 10000 < CAST(:sample AS int))
      AND k.occurred_at >= CAST(:cutoff_end AS date) - interval '90 days' AND k.occurred_at < CAST(:cutoff_end AS date)
    GROUP BY k.customer_id
),
cc AS (
    SELECT x.customer_id,
           count(*) AS competitor_calls_90d,
           count(*) FILTER (WHERE x.called_at >= CAST(:cutoff_end AS date) - interval '30 days') AS competitor_calls_30d
    FROM competitor_calls x
    WHERE x.customer_id > CAST(:lo AS bigint) AND x.customer_id <= CAST(:hi AS bigint)
      AND (CAST(:sample AS int) >= 10000 OR abs(hashint8(x.customer_id)) % 10000 < CAST(:sample AS int))
      AND x.called_at >= CAST(:cutoff_end AS date) - interval '90 days' AND x.called_at < CAST(:cutoff_end AS date)
    GROUP BY x.customer_id
),
hs AS (
    SELECT DISTINCT ON (h.customer_id) h.customer_id, h.started_on, h.price_band, h.dual_sim,
           count(*) FILTER (WHERE h.started_on >= CAST(:cutoff_end AS date) - interval '365 days')
               OVER (PARTITION BY h.customer_id) AS handset_changes_12m
    FROM handsets h
    WHERE h.customer_id > CAST(:lo AS bigint) AND h.customer_id <= CAST(:hi AS bigint)
      AND (CAST(:sample AS int) >= 10000 OR abs(hashint8(h.customer_id)) % 10000 < CAST(:sample AS int)) AND h.started_on < CAST(:cutoff_end AS date)
    ORDER BY h.customer_id, h.started_on DESC, h.id DESC
)
SELECT b.id AS customer_id,
       (b.churned_on >= CAST(:cutoff_end AS date) AND b.churned_on < CAST(:label_end AS date)) IS TRUE AS churned,
       ((CAST(:cutoff_end AS date) - b.join_date) / 30.44)::float8 AS tenure_months,
       coalesce(u.months_observed, 0)::float8 AS months_observed,
       coalesce((u.bill_recent3 / 100.0)::float8, 'NaN') AS bill_avg3_yuan,
       coalesce((ln((u.bill_last + 100.0) / (u.bill_prior + 100.0)))::float8, 'NaN') AS bill_trend,
       coalesce((ln((u.bill_recent3 + 100.0) / (u.bill_prev3 + 100.0)))::float8, 'NaN') AS bill_trend_3v3,
       coalesce((u.bill_sd6 / nullif(u.bill_avg6, 0))::float8, 'NaN') AS bill_volatility,
       coalesce((u.voice_recent3)::float8, 'NaN') AS voice_min_avg3,
       coalesce((ln((u.voice_last + 10.0) / (u.voice_prior + 10.0)))::float8, 'NaN') AS voice_trend,
       coalesce((ln((u.voice_recent3 + 10.0) / (u.voice_prev3 + 10.0)))::float8, 'NaN') AS voice_trend_3v3,
       coalesce((u.data_recent3)::float8, 'NaN') AS data_mb_avg3,
       coalesce((ln((u.data_last + 100.0) / (u.data_prior + 100.0)))::float8, 'NaN') AS data_trend,
       coalesce((ln((u.data_recent3 + 100.0) / (u.data_prev3 + 100.0)))::float8, 'NaN') AS data_trend_3v3,
       coalesce((u.data_cv6)::float8, 'NaN') AS data_volatility,
       coalesce((u.active_days_last - u.active_days_prior)::float8, 'NaN') AS active_days_change,
       coalesce((u.voice_use3)::float8, 'NaN') AS voice_allowance_use,
       coalesce((u.data_use3)::float8, 'NaN') AS data_allowance_use,
       coalesce((u.payg_data3 / 100.0)::float8, 'NaN') AS payg_data_yuan,
       coalesce((u.roam_ld3 / 100.0)::float8, 'NaN') AS roaming_ld_yuan,
       coalesce((u.topups3)::float8, 'NaN') AS topups_3m,
       coalesce((u.topup_fen3 / 100.0)::float8, 'NaN') AS topup_yuan_3m,
       coalesce((u.balance_last / 100.0)::float8, 'NaN') AS balance_yuan,
       coalesce((u.broadband3)::float8, 'NaN') AS broadband_gb_avg3,
       coalesce(cp.complaints_90d, 0)::float8 AS complaints_90d,
       coalesce(cp.complaints_open_90d, 0)::float8 AS complaints_open_90d,
       coalesce((cp.satisfaction_min_90d)::float8, 'NaN') AS satisfaction_min_90d,
       coalesce(cc.competitor_calls_30d, 0)::float8 AS competitor_calls_30d,
       coalesce(cc.competitor_calls_90d, 0)::float8 AS competitor_calls_90d,
       coalesce((greatest(least((b.contract_end - CAST(:cutoff_end AS date)) / 30.44, 36), -12))::float8, 'NaN') AS contract_months_left,
       (b.contract_end IS NOT NULL AND b.contract_end >= CAST(:cutoff_end AS date))::int::float8 AS in_contract,
       coalesce(((CAST(:cutoff_end AS date) - hs.started_on) / 30.44)::float8, 'NaN') AS handset_age_months,
       coalesce((CASE hs.price_band WHEN 'low' THEN 0 WHEN 'mid' THEN 1 WHEN 'high' THEN 2 WHEN 'flagship' THEN 3
                 END)::float8, 'NaN') AS handset_price_rank,
       coalesce(hs.dual_sim::int, 0)::float8 AS dual_sim,
       coalesce(hs.handset_changes_12m, 0)::float8 AS handset_changes_12m
FROM base b
LEFT JOIN u ON u.customer_id = b.id
LEFT JOIN cp ON cp.customer_id = b.id
LEFT JOIN cc ON cc.customer_id = b.id
LEFT JOIN hs ON hs.customer_id = b.id
ORDER BY b.id
