-- Four-high anomalies (seed 004) for one id chunk. Two lists:
--   monthly (period = the last usage month's end): from customer_features (the month and the
--     3 months up to it);
--   daily (period = the run day): from daily_usage of the month to date (:w_start .. the day
--     before the run day; at least daily_min_days days, reaching into last month early in a
--     month), pro-rated against the monthly allowance (allowance x :w_frac, the window's share of
--     the month). No daily rows in the window: no daily flag (a missing feed is not "normal").
-- Drops unflagged uncared rows of those periods on a rerun, and marks cared-for flags as
-- normalised once the customer no longer shows the anomaly in a usage month that ended after
-- the care. Same kinds, same thresholds (programme_settings four_high) for both lists.
WITH mtd AS (
    SELECT d.customer_id,
        sum(d.voice_min) AS voice,
        sum(d.data_mb) AS data,
        sum(d.roaming_fen + d.long_distance_fen) AS roam_ld,
        sum(d.payg_data_fen) AS payg,
        count(*) FILTER (WHERE d.voice_min > 0 OR d.data_mb > 0 OR d.sms > 0) AS active_days
    FROM daily_usage d
    WHERE d.customer_id > :lo AND d.customer_id <= :hi
      AND d.day >= CAST(:w_start AS date) AND d.day < CAST(:run_date AS date)
    GROUP BY d.customer_id
),
f AS (
    SELECT f.*,
        greatest(f.voice_use_ratio, f.data_use_ratio) AS use_ratio,
        m.voice AS d_voice, m.data AS d_data, m.roam_ld AS d_roam_ld, m.payg AS d_payg, m.active_days AS d_active,
        -- the window's allowance: the last usage month's (plan plus packs), else the plan's
        greatest(coalesce(u.voice_allowance_min, p.voice_min, 0), 1) * CAST(:w_frac AS float8) AS d_voice_allow,
        greatest(coalesce(u.data_allowance_mb, p.data_mb, 0), 1) * CAST(:w_frac AS float8) AS d_data_allow
    FROM customer_features f
    LEFT JOIN mtd m ON m.customer_id = f.customer_id
    LEFT JOIN monthly_usage u ON u.customer_id = f.customer_id AND u.month = CAST(:last_month AS date)
                             AND u.customer_id > :lo AND u.customer_id <= :hi  -- the range: not carried across a join
    LEFT JOIN products p ON p.id = f.plan_id
    WHERE f.customer_id > :lo AND f.customer_id <= :hi AND f.months_of_usage > 0
),
-- materialized: each flag is computed once per customer, not once per VALUES row that reads it
rules AS MATERIALIZED (
    SELECT f.customer_id,
        -- monthly: the month and the 3-month average (a one-off trip or binge is not an anomaly)
        f.roaming_fen + f.long_distance_fen >= :tariff_min_fen AND f.roaming_ld_3m_fen >= :tariff_min_fen
            AND f.roaming_ld_3m_fen >= :tariff_min_share * greatest(f.arpu_fen, 1) AS m_tariff,
        f.payg_data_fen >= :payg_min_fen AND f.payg_data_3m_fen >= :payg_min_fen
            AND f.data_use_ratio >= :payg_min_data_use_ratio AS m_payg,
        f.active_days >= :silence_min_active_days AND f.silent_services >= :silence_min_silent_services
            AND f.use_ratio < :silence_max_use_ratio AS m_silence,
        f.last_bill_fen >= :arpu_min_bill_fen AND f.use_ratio < :arpu_max_use_ratio AS m_arpu,
        -- daily: month to date against the pro-rated allowance and thresholds
        f.d_roam_ld >= :tariff_min_fen * CAST(:w_frac AS float8)
            AND f.d_roam_ld >= :tariff_min_share * (f.plan_fee_fen * CAST(:w_frac AS float8) + f.d_roam_ld + f.d_payg) AS d_tariff,
        f.d_data >= :payg_min_data_use_ratio * f.d_data_allow AS d_payg,
        f.d_active >= :silence_min_active_days * CAST(:w_frac AS float8) AND f.silent_services >= :silence_min_silent_services
            AND greatest(f.d_voice / f.d_voice_allow, f.d_data / f.d_data_allow) < :silence_max_use_ratio AS d_silence,
        f.last_bill_fen >= :arpu_min_bill_fen
            AND greatest(f.d_voice / f.d_voice_allow, f.d_data / f.d_data_allow) < :arpu_max_use_ratio AS d_arpu,
        f.roaming_fen + f.long_distance_fen AS m_tariff_v, f.d_roam_ld AS d_tariff_v,
        f.payg_data_fen AS m_payg_v, f.d_payg AS d_payg_v,
        round(CAST(1 - f.use_ratio AS numeric), 4) AS m_silence_v,
        round(CAST(1 - greatest(f.d_voice / f.d_voice_allow, f.d_data / f.d_data_allow) AS numeric), 4) AS d_silence_v,
        f.last_bill_fen AS arpu_v
    FROM f
),
cur AS (
    -- an idle-service, low-use customer is the silence list's (using or dropping what they pay
    -- for is the care), not also the ARPU list's
    SELECT r.customer_id, x.kind, x.period, x.value
    FROM rules r
    CROSS JOIN LATERAL (VALUES
        ('tariff', CAST(:month_period AS date), CASE WHEN r.m_tariff THEN CAST(r.m_tariff_v AS float8) END),
        ('payg_data', CAST(:month_period AS date), CASE WHEN r.m_payg THEN CAST(r.m_payg_v AS float8) END),
        ('silence', CAST(:month_period AS date), CASE WHEN r.m_silence THEN CAST(r.m_silence_v AS float8) END),
        ('arpu_mismatch', CAST(:month_period AS date),
            CASE WHEN r.m_arpu AND NOT r.m_silence THEN CAST(r.arpu_v AS float8) END),
        ('tariff', CAST(:run_date AS date), CASE WHEN r.d_tariff THEN CAST(r.d_tariff_v AS float8) END),
        ('payg_data', CAST(:run_date AS date), CASE WHEN r.d_payg THEN CAST(r.d_payg_v AS float8) END),
        ('silence', CAST(:run_date AS date), CASE WHEN r.d_silence THEN CAST(r.d_silence_v AS float8) END),
        ('arpu_mismatch', CAST(:run_date AS date),
            CASE WHEN r.d_arpu AND NOT coalesce(r.d_silence, false) THEN CAST(r.arpu_v AS float8) END)
    ) AS x(kind, period, value)
    WHERE x.value IS NOT NULL
),
ins AS (
    INSERT INTO four_high_flags (customer_id, kind, period, value)
    SELECT customer_id, kind, period, value FROM cur
    ON CONFLICT (customer_id, kind, period) DO UPDATE SET value = EXCLUDED.value
    WHERE four_high_flags.value IS DISTINCT FROM EXCLUDED.value
    RETURNING 1
),
del AS (
    DELETE FROM four_high_flags h
    WHERE h.customer_id > :lo AND h.customer_id <= :hi
      AND h.period IN (CAST(:run_date AS date), CAST(:month_period AS date)) AND h.cared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.customer_id = h.customer_id AND cur.kind = h.kind AND cur.period = h.period)
    RETURNING 1
),
norm AS (
    UPDATE four_high_flags h SET normalised_on = CAST(:run_date AS date)
    WHERE h.customer_id > :lo AND h.customer_id <= :hi
      AND h.cared_at IS NOT NULL AND h.normalised_on IS NULL AND h.cared_at < :month_end_ts
      AND EXISTS (SELECT 1 FROM customer_features f WHERE f.customer_id = h.customer_id)
      AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.customer_id = h.customer_id AND cur.kind = h.kind
                                            AND cur.period = CAST(:month_period AS date))
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM del) + (SELECT count(*) FROM norm)
