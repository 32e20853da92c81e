-- Per-customer profile for one id chunk: lifecycle stage (seed 000), stability segment and
-- sub-segment (seed 002), behavioural cluster (nearest centroid), current four-high kinds,
-- preferred channel (touch history, else a usage-based guess) and ARPU.
-- Churn columns belong to the churn stage and are read (risk_level) but never written here.
INSERT INTO customer_profiles AS cp (customer_id, lifecycle_stage, segment, sub_segment, cluster_id, four_high,
                                     preferred_channel, arpu_fen, top_factors, updated_at)
SELECT x.customer_id, x.stage, x.segment, x.sub_segment, x.cluster_id, x.four_high, x.channel, x.arpu_fen,
       '[]'::jsonb, now()
FROM (
    SELECT f.customer_id,
        CASE
            WHEN f.tenure_months >= 6 AND (
                 f.arpu_trend_3m <= :loss_trend
                 OR (f.data_trend_3m <= :loss_trend AND f.voice_trend_3m <= :loss_trend)
                 OR f.competitor_calls_90d > 0 OR p.risk_level = 'high') THEN 'decline'
            WHEN f.tenure_months < 6 THEN 'exploration'
            WHEN f.tenure_months < 24 THEN 'formation'
            ELSE 'stable'
        END AS stage,
        s.segment,
        s.sub_segment,
        {cluster_expr} AS cluster_id,
        coalesce(fh.kinds, '[]'::jsonb) AS four_high,
        coalesce(f.best_channel,
            CASE
                WHEN f.do_not_disturb THEN 'app_push'
                WHEN f.age_years >= 60 THEN 'hall'
                WHEN f.data_mb >= 3072 AND f.active_days >= 20 THEN 'app_push'
                WHEN f.voice_min >= 300 THEN 'outbound_call'
                WHEN f.age_years < 35 THEN 'app_push'
                ELSE 'sms'
            END) AS channel,
        f.arpu_fen
    FROM customer_features f
    -- every joined table carries the chunk's range: Postgres does not carry it across a join
    LEFT JOIN customer_profiles p ON p.customer_id = f.customer_id AND p.customer_id > :lo AND p.customer_id <= :hi /*subset p.customer_id*/
    LEFT JOIN (SELECT h.customer_id, jsonb_agg(h.kind ORDER BY h.kind) AS kinds FROM four_high_flags h
               WHERE h.customer_id > :lo AND h.customer_id <= :hi /*subset h.customer_id*/ AND h.period = CAST(:run_date AS date)
               GROUP BY h.customer_id) fh ON fh.customer_id = f.customer_id
    CROSS JOIN LATERAL (SELECT {vector_expr} AS z OFFSET 0) zv
    {distance_lateral}
    CROSS JOIN LATERAL (
        SELECT
            CASE
                WHEN p.risk_level = 'high' OR f.competitor_calls_90d > 0 OR f.complaints_90d >= :loss_complaints
                     OR f.complaints_network_90d > 0 OR f.unresolved_complaints > 0
                     OR f.arpu_trend_3m <= :loss_trend THEN 'potential_loss'
                WHEN f.voice_use_ratio > :shortage_min_ratio OR f.data_use_ratio > :shortage_min_ratio
                     OR f.payg_data_3m_fen >= :shortage_payg_fen THEN 'value_loss'
                WHEN f.months_of_usage > 0 AND f.active_days < :low_freq_active_days THEN 'value_loss'
                WHEN f.months_of_usage > 0 AND f.plan_fee_fen > 0
                     AND f.voice_use_ratio < :surplus_max_ratio AND f.data_use_ratio < :surplus_max_ratio THEN 'value_loss'
                ELSE 'stable'
            END AS segment,
            CASE
                WHEN p.risk_level = 'high' OR f.competitor_calls_90d > 0 OR f.complaints_90d >= :loss_complaints
                     OR f.complaints_network_90d > 0 OR f.unresolved_complaints > 0
                     OR f.arpu_trend_3m <= :loss_trend THEN
                    CASE
                        WHEN f.complaints_network_90d > 0 THEN 'network'
                        WHEN f.complaints_service_90d > 0 OR f.unresolved_complaints > 0 OR f.min_satisfaction <= 2 THEN 'service'
                        ELSE 'tariff'
                    END
                WHEN f.voice_use_ratio > :shortage_min_ratio OR f.data_use_ratio > :shortage_min_ratio
                     OR f.payg_data_3m_fen >= :shortage_payg_fen THEN 'resource_shortage'
                WHEN f.months_of_usage > 0 AND f.active_days < :low_freq_active_days THEN 'low_frequency'
                WHEN f.months_of_usage > 0 AND f.plan_fee_fen > 0
                     AND f.voice_use_ratio < :surplus_max_ratio AND f.data_use_ratio < :surplus_max_ratio THEN 'resource_surplus'
                WHEN f.arpu_fen >= :high_value_arpu_fen OR f.tier IN ('star5', 'gold', 'diamond') THEN 'high_value'
                ELSE 'mainstream'
            END AS sub_segment
    ) s
    WHERE f.customer_id > :lo AND f.customer_id <= :hi /*subset f.customer_id*/
) x
ON CONFLICT (customer_id) DO UPDATE SET
    lifecycle_stage = EXCLUDED.lifecycle_stage, segment = EXCLUDED.segment, sub_segment = EXCLUDED.sub_segment,
    cluster_id = EXCLUDED.cluster_id, four_high = EXCLUDED.four_high, preferred_channel = EXCLUDED.preferred_channel,
    arpu_fen = EXCLUDED.arpu_fen, updated_at = now()
WHERE (cp.lifecycle_stage, cp.segment, cp.sub_segment, cp.cluster_id, cp.four_high, cp.preferred_channel, cp.arpu_fen)
      IS DISTINCT FROM
      (EXCLUDED.lifecycle_stage, EXCLUDED.segment, EXCLUDED.sub_segment, EXCLUDED.cluster_id, EXCLUDED.four_high,
       EXCLUDED.preferred_channel, EXCLUDED.arpu_fen)
