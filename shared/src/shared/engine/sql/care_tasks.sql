-- Care tasks for the customers of the managers in (:manager_lo, :manager_hi] (everything here is
-- per customer or per manager, and a customer has one manager, so the ranges run side by side);
-- one INSERT per kind; the UNIQUE dedupe_key makes a rerun
-- (same day or later in the period) a no-op. Greetings and routine care skip do-not-disturb
-- customers and those who refused a contact in the last 30 days; no task at all for do-not-disturb.
-- Churn retention offers the rung of the ladder of the cause that fits the customer budget
-- (care.py puts the ladder CTE, pick lateral and reason of shared.engine.retention_offers in the ro_ markers).
WITH {ro_ladder},
base AS MATERIALIZED (
    SELECT a.customer_id, a.manager_id, c.gender, c.name, tenure_days_to_birthday(f.birthday, CAST(:run_date AS date)) AS days_to_birthday, f.do_not_disturb, f.refusals_30d,
           p.risk_level, p.segment, p.sub_segment, p.four_high, p.churn_score, p.uplift_score,
           coalesce(p.arpu_fen, f.arpu_fen) AS arpu_fen,
           CASE c.gender WHEN 'F' THEN left(c.name, 1) || '女士' WHEN 'M' THEN left(c.name, 1) || '先生' ELSE '尊敬的客户' END AS salutation,
           r.product_id AS rec_product_id, r.script AS rec_script, r.reason AS rec_reason
    FROM manager_assignments a
    JOIN customers c ON c.id = a.customer_id AND c.status = 'active'
    JOIN customer_features f ON f.customer_id = a.customer_id
    LEFT JOIN customer_profiles p ON p.customer_id = a.customer_id
    LEFT JOIN LATERAL (SELECT r.product_id, r.script, r.reason FROM recommendations r
                       WHERE r.customer_id = a.customer_id AND r.status = 'open'
                       ORDER BY r.score DESC, r.id LIMIT 1) r ON true
    WHERE a.manager_id > CAST(:manager_lo AS bigint) AND a.manager_id <= CAST(:manager_hi AS bigint)
),
quiet_ok AS (SELECT * FROM base WHERE NOT do_not_disturb AND refusals_30d = 0),
tasks AS (
    SELECT customer_id, manager_id, 'routine' AS kind,
           'routine:' || customer_id || ':' || to_char(CAST(:month_start AS date), 'YYYY-MM') AS dedupe_key,
           least(greatest(CAST(:run_date AS date), CAST(:month_start AS date) + (customer_id % 25)::int),
                 (CAST(:month_start AS date) + interval '1 month - 1 day')::date) AS due_on,
           '月度例行关怀' || coalesce(':' || rec_reason, '') AS reason, rec_product_id AS product_id,
           coalesce(rec_script, salutation || '您好,我是您的客户经理,本月例行回访,看看您的套餐使用是否顺心。') AS script
    FROM quiet_ok
    UNION ALL
    SELECT customer_id, manager_id, 'birthday',
           'birthday:' || customer_id || ':' || extract(year FROM CAST(:run_date AS date) + days_to_birthday),
           CAST(:run_date AS date) + days_to_birthday,
           '生日祝福', NULL::int,
           salutation || ',生日快乐!感谢您一直以来的支持,祝您生日快乐、万事如意。'
    FROM quiet_ok WHERE days_to_birthday BETWEEN 0 AND CAST(:birthday_lead_days AS int)
    UNION ALL
    SELECT b.customer_id, b.manager_id, 'holiday',
           'holiday:' || b.customer_id || ':' || h.day,
           h.day, '节日问候:' || h.name, NULL::int,
           replace(h.greeting_template, '{name}', b.salutation)
    FROM quiet_ok b
    JOIN holidays h ON h.day BETWEEN CAST(:run_date AS date) AND CAST(:run_date AS date) + CAST(:holiday_lead_days AS int)
    UNION ALL
    SELECT b.customer_id, b.manager_id, 'churn',
           'churn:' || b.customer_id || ':' || to_char(CAST(:month_start AS date), 'YYYY-MM'),
           CAST(:run_date AS date) + 3,
           left('流失预警挽留:' || coalesce('风险' || b.risk_level, '流失迹象') || coalesce('/' || b.sub_segment, '')
                || ';' || {ro_reason}, 300),
           ro.product_id,
           b.salutation || '您好,' || coalesce(ro.script, CAST(:ro_care_script AS text))
    FROM base b
    {ro_pick}
    WHERE NOT b.do_not_disturb AND (b.risk_level = 'high' OR (b.risk_level IS NULL AND b.segment = 'potential_loss'))
    UNION ALL
    SELECT b.customer_id, b.manager_id, 'four_high',
           'four_high:' || b.customer_id || ':' || h.kind || ':' || to_char(h.period, 'YYYY-MM'),
           CAST(:run_date AS date) + 5,
           CASE h.kind WHEN 'tariff' THEN '四高关怀:长途漫游资费偏高'
                       WHEN 'payg_data' THEN '四高关怀:套外流量费偏高'
                       WHEN 'silence' THEN '四高关怀:资源或业务沉默'
                       ELSE '四高关怀:消费与使用不匹配' END,
           (SELECT pr.id FROM products pr
             WHERE pr.active AND pr.kind = CASE h.kind WHEN 'tariff' THEN 'voice_pack' WHEN 'payg_data' THEN 'data_pack'
                                                      WHEN 'arpu_mismatch' THEN 'plan' END
             ORDER BY pr.monthly_fee_fen, pr.id LIMIT 1),
           CASE h.kind WHEN 'tariff' THEN b.salutation || '您好,您近期长途漫游费用较高,为您推荐更划算的可选包。'
                       WHEN 'payg_data' THEN b.salutation || '您好,您上月套外流量费较多,办理流量包更省钱。'
                       WHEN 'silence' THEN b.salutation || '您好,提醒您套餐内还有不少资源没用上,我来教您用起来。'
                       ELSE b.salutation || '您好,根据您的实际使用,有更合适的套餐可以为您节省费用。' END
    FROM base b
    JOIN four_high_flags h ON h.customer_id = b.customer_id AND h.period = CAST(:month_period AS date)
                          AND h.cared_at IS NULL AND h.normalised_on IS NULL
    WHERE NOT b.do_not_disturb
),
-- Daily workload: churn retention first, then four-high, greetings, routine care last.
fresh AS (
    SELECT t.*, CASE t.kind WHEN 'churn' THEN 1 WHEN 'four_high' THEN 2 WHEN 'birthday' THEN 3
                            WHEN 'holiday' THEN 4 ELSE 5 END AS prio
    FROM tasks t
    WHERE NOT EXISTS (SELECT 1 FROM care_tasks o WHERE o.dedupe_key = t.dedupe_key)
),
-- One task per customer per day: not when one is already open that day, and the best of the new ones.
one_a_day AS (
    SELECT DISTINCT ON (f.customer_id, f.due_on) f.*
    FROM fresh f
    WHERE NOT EXISTS (SELECT 1 FROM care_tasks o
                      WHERE o.customer_id = f.customer_id AND o.due_on = f.due_on AND o.status IN ('open', 'in_progress'))
    ORDER BY f.customer_id, f.due_on, f.prio, f.dedupe_key
),
booked AS (
    SELECT manager_id, due_on, count(*) AS n FROM care_tasks
    WHERE status IN ('open', 'in_progress') AND due_on >= CAST(:run_date AS date)
      AND manager_id > CAST(:manager_lo AS bigint) AND manager_id <= CAST(:manager_hi AS bigint)
    GROUP BY manager_id, due_on
),
-- A manager's day holds at most :max_per_manager_per_day open tasks; what does not fit waits for a later run.
capped AS (
    SELECT d.*, coalesce(b.n, 0) + row_number() OVER (PARTITION BY d.manager_id, d.due_on ORDER BY d.prio, d.customer_id) AS slot
    FROM one_a_day d
    LEFT JOIN booked b ON b.manager_id = d.manager_id AND b.due_on = d.due_on
)
INSERT INTO care_tasks (customer_id, manager_id, kind, dedupe_key, due_on, reason, product_id, script, status)
SELECT customer_id, manager_id, kind, dedupe_key, due_on, reason, product_id, script, 'open' FROM capped
WHERE slot <= CAST(:max_per_manager_per_day AS int)
ON CONFLICT (dedupe_key) DO NOTHING
