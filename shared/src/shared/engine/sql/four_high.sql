-- Four-high anomalies (seed 004) for one id chunk: flag rows for the run day and for the usage
-- month (period = the month's last day), drop unflagged uncared rows of those periods on a
-- rerun, and mark cared-for flags as normalised once the customer no longer shows the anomaly
-- in a usage month that ended after the care.
WITH cur AS (
    SELECT f.customer_id, x.kind, p.period, x.value
    FROM customer_features f
    CROSS JOIN LATERAL (VALUES
        ('tariff', CASE WHEN f.roaming_fen + f.long_distance_fen >= :tariff_min_fen
                         AND f.roaming_fen + f.long_distance_fen >= :tariff_min_share * greatest(f.last_bill_fen, 1)
                        THEN CAST(f.roaming_fen + f.long_distance_fen AS float8) END),
        ('payg_data', CASE WHEN f.payg_data_fen >= :payg_min_fen THEN CAST(f.payg_data_fen AS float8) END),
        ('silence', CASE WHEN (f.months_of_usage > 0 AND f.unused_voice_min + f.unused_data_mb > 0
                               AND f.voice_use_ratio < :silence_max_use_ratio AND f.data_use_ratio < :silence_max_use_ratio)
                           OR f.silent_services >= :silence_min_silent_services
                         THEN round(CAST(1 - greatest(f.voice_use_ratio, f.data_use_ratio) AS numeric), 4)::float8 END),
        ('arpu_mismatch', CASE WHEN f.last_bill_fen >= :arpu_min_bill_fen
                                AND greatest(f.voice_use_ratio, f.data_use_ratio) < :arpu_max_use_ratio
                               THEN CAST(f.last_bill_fen AS float8) END)
    ) AS x(kind, value)
    CROSS JOIN (VALUES (CAST(:run_date AS date)), (CAST(:month_period AS date))) AS p(period)
    WHERE f.customer_id > :lo AND f.customer_id <= :hi AND x.value IS NOT NULL AND f.months_of_usage > 0
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
      AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.customer_id = h.customer_id AND cur.kind = h.kind)
    RETURNING 1
)
SELECT (SELECT count(*) FROM ins) + (SELECT count(*) FROM del) + (SELECT count(*) FROM norm)
