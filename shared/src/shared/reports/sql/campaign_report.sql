-- Campaign report: one row per (group, campaign, arm) over the members as they were at launch.
-- {where} filters members; {group} is the grouping expression over m. Parameters: :as_of (date),
-- :tz, :success, :offline, :reached, :not_contact, attribution (:attr_days, :attr_not_contact).
-- Members who had churned before the launch day were never at risk: they are counted
-- (gone_before) and left out of retention, ARPU and conversion alike.
WITH m AS (
    SELECT cm.campaign_id, cm.customer_id, cm.holdout, ca.strategy_id, ca.channel, st.product_id AS offered_product,
           coalesce(cm.branch_id, c.branch_id) AS branch_id, cm.manager_id, cm.baseline_arpu_fen,
           ca.target_retention_uplift, ca.target_arpu_uplift_fen,
           coalesce(ca.launched_at, CAST(ca.starts_on AS timestamp) AT TIME ZONE :tz) AS launched_at,
           CAST(coalesce(ca.launched_at, CAST(ca.starts_on AS timestamp) AT TIME ZONE :tz) AT TIME ZONE :tz AS date)
               AS launch_day,
           c.status, c.churned_on
    FROM campaign_members cm
    JOIN campaigns ca ON ca.id = cm.campaign_id
    JOIN customers c ON c.id = cm.customer_id
    LEFT JOIN strategies st ON st.id = ca.strategy_id
    WHERE {where}
), camp AS (
    SELECT campaign_id, min(launch_day) AS launch_day FROM m GROUP BY 1
), pm AS (
    -- post-launch months: whole months that start on or after the launch day, complete by :as_of
    -- and billed (monthly_usage holds rows for them)
    SELECT camp.campaign_id, CAST(g AS date) AS month
    FROM camp CROSS JOIN LATERAL generate_series(
        date_trunc('month', camp.launch_day - 1) + interval '1 month',
        date_trunc('month', CAST(:as_of AS date) + 1) - interval '1 month',
        interval '1 month') AS g
    WHERE EXISTS (SELECT 1 FROM monthly_usage mu WHERE mu.month = CAST(g AS date))
), npm AS (
    SELECT campaign_id, count(*) AS n_post, min(month) AS first_post, max(month) AS last_post FROM pm GROUP BY 1
), post AS (
    SELECT m.campaign_id, m.customer_id, sum(mu.bill_fen) AS post_sum
    FROM m JOIN pm ON pm.campaign_id = m.campaign_id
    JOIN monthly_usage mu ON mu.customer_id = m.customer_id AND mu.month = pm.month
    GROUP BY 1, 2
), o AS (
    SELECT s.id AS subscription_id, s.customer_id, s.product_id, s.created_at AS ordered_at, s.charge_fen
    FROM subscriptions s
    WHERE s.customer_id IN (SELECT customer_id FROM m)
      AND s.created_at >= (SELECT min(launched_at) FROM m)
      AND s.created_at < (CAST(:as_of AS date) + 1) AT TIME ZONE :tz
), {credit_ctes}, won AS (
    -- orders credited to the member's own campaign
    SELECT m.campaign_id, m.customer_id, count(*) AS orders, sum(o.charge_fen) AS charge
    FROM credit cr JOIN o ON o.subscription_id = cr.subscription_id
    JOIN m ON m.customer_id = o.customer_id AND m.campaign_id = cr.campaign_id
    GROUP BY 1, 2
), bought AS (
    -- members who ordered the offered product after launch, through any channel, credited or not
    SELECT DISTINCT m.campaign_id, m.customer_id
    FROM m JOIN o ON o.customer_id = m.customer_id AND o.product_id = m.offered_product AND o.ordered_at >= m.launched_at
), tc AS (
    SELECT tt.campaign_id, tt.customer_id, count(*) AS n,
           count(*) FILTER (WHERE tt.outcome = ANY(:success) OR cr.touch_id IS NOT NULL) AS ok,
           count(*) FILTER (WHERE tt.outcome = ANY(:reached)) AS answered,
           count(*) FILTER (WHERE tt.channel = ANY(:offline)) AS n_off,
           count(*) FILTER (WHERE tt.channel = ANY(:offline) AND (tt.outcome = ANY(:success) OR cr.touch_id IS NOT NULL))
               AS ok_off,
           sum(tt.cost_fen) AS cost
    FROM touches tt
    LEFT JOIN (SELECT DISTINCT touch_id FROM credit WHERE touch_id IS NOT NULL) cr ON cr.touch_id = tt.id
    WHERE tt.campaign_id IN (SELECT campaign_id FROM camp) AND tt.outcome <> ALL(:not_contact)
      AND tt.occurred_at < (CAST(:as_of AS date) + 1) AT TIME ZONE :tz
    GROUP BY 1, 2
), f AS (
    SELECT {group} AS grp, m.campaign_id, m.holdout, m.launch_day, m.target_retention_uplift, m.target_arpu_uplift_fen,
           m.status = 'churned' AND m.churned_on < m.launch_day AS gone_before,
           m.status = 'churned' AND coalesce(m.churned_on, CAST(:as_of AS date)) <= :as_of AS churned,
           coalesce(m.churned_on, CAST(:as_of AS date)) - m.launch_day AS churn_day,
           coalesce(m.baseline_arpu_fen, 0) AS pre,
           CASE WHEN npm.n_post > 0 THEN coalesce(post.post_sum, 0) / CAST(npm.n_post AS numeric) END AS post,
           npm.n_post, npm.first_post, npm.last_post,
           coalesce(tc.n, 0) AS n, coalesce(tc.ok, 0) AS ok, coalesce(tc.answered, 0) AS answered,
           coalesce(tc.n_off, 0) AS n_off, coalesce(tc.ok_off, 0) AS ok_off, coalesce(tc.cost, 0) AS cost,
           coalesce(won.orders, 0) AS won_orders, coalesce(won.charge, 0) AS won_charge,
           bought.customer_id IS NOT NULL AS bought
    FROM m
    LEFT JOIN npm ON npm.campaign_id = m.campaign_id
    LEFT JOIN post ON post.campaign_id = m.campaign_id AND post.customer_id = m.customer_id
    LEFT JOIN tc ON tc.campaign_id = m.campaign_id AND tc.customer_id = m.customer_id
    LEFT JOIN won ON won.campaign_id = m.campaign_id AND won.customer_id = m.customer_id
    LEFT JOIN bought ON bought.campaign_id = m.campaign_id AND bought.customer_id = m.customer_id
)
SELECT grp, campaign_id, holdout, min(launch_day) AS launch_day,
       max(target_retention_uplift) AS target_retention_uplift, max(target_arpu_uplift_fen) AS target_arpu_uplift_fen,
       count(*) AS members,
       count(*) FILTER (WHERE gone_before) AS gone_before,
       count(*) FILTER (WHERE NOT gone_before) AS at_risk,
       count(*) FILTER (WHERE NOT gone_before AND NOT churned) AS retained,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 30) AS churned_30,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 60) AS churned_60,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 90) AS churned_90,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 180) AS churned_180,
       max(n_post) AS n_post, min(first_post) AS first_post, max(last_post) AS last_post,
       avg(pre) FILTER (WHERE NOT gone_before) AS pre_mean, var_samp(pre) FILTER (WHERE NOT gone_before) AS pre_var,
       sum(pre) FILTER (WHERE NOT gone_before AND post IS NOT NULL) AS pre_total,
       count(post) FILTER (WHERE NOT gone_before) AS n_arpu,
       avg(post) FILTER (WHERE NOT gone_before) AS post_mean, sum(post) FILTER (WHERE NOT gone_before) AS post_total,
       avg(post - pre) FILTER (WHERE NOT gone_before) AS delta_mean,
       var_samp(post - pre) FILTER (WHERE NOT gone_before) AS delta_var,
       count(*) FILTER (WHERE n > 0) AS reached, sum(n) AS touches, sum(ok) AS touches_ok, sum(answered) AS answered,
       sum(n_off) AS touches_offline, sum(ok_off) AS touches_offline_ok, sum(cost) AS cost,
       count(*) FILTER (WHERE ok > 0 OR won_orders > 0) AS accepted,
       sum(won_orders) AS orders_attributed, sum(won_charge) AS orders_attributed_fen,
       count(*) FILTER (WHERE bought AND NOT gone_before) AS bought
FROM f
GROUP BY grp, campaign_id, holdout
ORDER BY grp, campaign_id, holdout
