-- Campaign report: one row per (group, campaign, arm) over the members as they were at launch.
-- {campaigns} filters campaigns (alias ca), {members} filters members (aliases cm, c); {group}
-- groups member rows (alias m). Parameters: :as_of (date), :tz, :success, :offline, :reached,
-- :not_contact, attribution (:attr_days, :attr_not_contact).
-- Members who had churned before the launch day were never at risk: they are counted
-- (gone_before) and left out of retention, ARPU and conversion alike.
-- Shape: campaign-level CTEs are tiny; every per-member fact is keyed (campaign, customer) and
-- the facts meet in one GROUP BY over a UNION ALL, so no plan can loop members × members when
-- statistics are stale (right after a launch).
WITH camp AS (
    SELECT ca.id AS campaign_id, ca.strategy_id, ca.channel, st.product_id AS offered_product,
           ca.target_retention_uplift, ca.target_arpu_uplift_fen,
           coalesce(ca.launched_at, CAST(ca.starts_on AS timestamp) AT TIME ZONE :tz) AS launched_at,
           CAST(coalesce(ca.launched_at, CAST(ca.starts_on AS timestamp) AT TIME ZONE :tz) AT TIME ZONE :tz AS date)
               AS launch_day
    FROM campaigns ca LEFT JOIN strategies st ON st.id = ca.strategy_id
    WHERE {campaigns}
), pm AS (
    -- post-launch months: whole months that start on or after the launch day, complete by :as_of
    -- and billed (monthly_usage holds rows for them)
    SELECT camp.campaign_id, CAST(g AS date) AS month
    FROM camp CROSS JOIN LATERAL generate_series(
        date_trunc('month', camp.launch_day - 1) + interval '1 month',
        date_trunc('month', CAST(:as_of AS date) + 1) - interval '1 month',
        interval '1 month') AS g
    WHERE EXISTS (SELECT 1 FROM monthly_usage mu WHERE mu.month = CAST(g AS date))
), cx AS (
    SELECT camp.*, coalesce(n.n_post, 0) AS n_post, n.first_post, n.last_post
    FROM camp LEFT JOIN (SELECT campaign_id, count(*) AS n_post, min(month) AS first_post, max(month) AS last_post
                         FROM pm GROUP BY 1) n ON n.campaign_id = camp.campaign_id
), m AS (
    SELECT cx.*, cm.customer_id, cm.holdout, coalesce(cm.branch_id, c.branch_id) AS branch_id, cm.manager_id,
           coalesce(cm.baseline_arpu_fen, 0) AS pre, c.status, c.churned_on
    FROM cx JOIN campaign_members cm ON cm.campaign_id = cx.campaign_id
    JOIN customers c ON c.id = cm.customer_id
    WHERE {members}
), o AS (
    SELECT s.id AS subscription_id, s.customer_id, s.product_id, s.created_at AS ordered_at, s.charge_fen
    FROM subscriptions s
    WHERE s.customer_id IN (SELECT customer_id FROM m)
      AND s.created_at >= (SELECT min(launched_at) FROM camp)
      AND s.created_at < CAST(CAST(:as_of AS date) + 1 AS timestamp) AT TIME ZONE :tz
), {credit_ctes}, facts AS (
    SELECT m.campaign_id, m.customer_id, true AS member, {group} AS grp, m.holdout, m.launch_day,
           m.status = 'churned' AND coalesce(m.churned_on < m.launch_day, false) AS gone_before,  -- no date: churned after
           m.status = 'churned' AND coalesce(m.churned_on, CAST(:as_of AS date)) <= :as_of AS churned,
           coalesce(m.churned_on, CAST(:as_of AS date)) - m.launch_day AS churn_day,
           m.pre, m.n_post, m.first_post, m.last_post, m.target_retention_uplift, m.target_arpu_uplift_fen,
           NULL::numeric AS post_sum,
           0 AS n, 0 AS ok, 0 AS answered, 0 AS n_off, 0 AS ok_off, 0 AS cost, 0 AS won_orders, 0 AS won_charge,
           false AS bought
    FROM m
    UNION ALL  -- bills of the post-launch months
    SELECT m.campaign_id, m.customer_id, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           mu.bill_fen,
           0, 0, 0, 0, 0, 0, 0, 0, false
    FROM m JOIN pm ON pm.campaign_id = m.campaign_id
    JOIN monthly_usage mu ON mu.customer_id = m.customer_id AND mu.month = pm.month
    UNION ALL  -- the campaign's touches that reached the customer (success: outcome, or an order credited to it)
    SELECT tt.campaign_id, tt.customer_id, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           1, CAST(tt.outcome = ANY(:success) OR cr.touch_id IS NOT NULL AS int), CAST(tt.outcome = ANY(:reached) AS int),
           CAST(tt.channel = ANY(:offline) AS int),
           CAST(tt.channel = ANY(:offline) AND (tt.outcome = ANY(:success) OR cr.touch_id IS NOT NULL) AS int),
           tt.cost_fen, 0, 0, false
    FROM touches tt
    LEFT JOIN (SELECT DISTINCT touch_id FROM credit WHERE touch_id IS NOT NULL) cr ON cr.touch_id = tt.id
    WHERE tt.campaign_id IN (SELECT campaign_id FROM camp) AND tt.outcome <> ALL(:not_contact)
      AND tt.occurred_at < CAST(CAST(:as_of AS date) + 1 AS timestamp) AT TIME ZONE :tz
    UNION ALL  -- orders credited to the campaign
    SELECT cr.campaign_id, o.customer_id, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           0, 0, 0, 0, 0, 0, 1, o.charge_fen, false
    FROM credit cr JOIN o ON o.subscription_id = cr.subscription_id
    WHERE cr.campaign_id IN (SELECT campaign_id FROM camp)
    UNION ALL  -- orders of the offered product after launch, any channel, credited or not
    SELECT camp.campaign_id, o.customer_id, false, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           0, 0, 0, 0, 0, 0, 0, 0, true
    FROM o JOIN camp ON o.product_id = camp.offered_product AND o.ordered_at >= camp.launched_at
), per AS (
    SELECT campaign_id, customer_id, max(grp) AS grp, bool_or(holdout) AS holdout, max(launch_day) AS launch_day,
           bool_or(gone_before) AS gone_before, bool_or(churned) AS churned, max(churn_day) AS churn_day,
           max(pre) AS pre, max(n_post) AS n_post, max(first_post) AS first_post, max(last_post) AS last_post,
           max(target_retention_uplift) AS target_retention_uplift, max(target_arpu_uplift_fen) AS target_arpu_uplift_fen,
           CASE WHEN max(n_post) > 0 THEN coalesce(sum(post_sum), 0) / max(n_post) END AS post,
           sum(n) AS n, sum(ok) AS ok, sum(answered) AS answered, sum(n_off) AS n_off, sum(ok_off) AS ok_off,
           sum(cost) AS cost, sum(won_orders) AS won_orders, sum(won_charge) AS won_charge, bool_or(bought) AS bought
    FROM facts
    GROUP BY campaign_id, customer_id
    HAVING bool_or(member)
)
SELECT grp, campaign_id, holdout, min(launch_day) AS launch_day,
       max(target_retention_uplift) AS target_retention_uplift, max(target_arpu_uplift_fen) AS target_arpu_uplift_fen,
       max(n_post) AS n_post, min(first_post) AS first_post, max(last_post) AS last_post,
       count(*) AS members,
       count(*) FILTER (WHERE gone_before) AS gone_before,
       count(*) FILTER (WHERE NOT gone_before) AS at_risk,
       count(*) FILTER (WHERE NOT gone_before AND NOT churned) AS retained,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 30) AS churned_30,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 60) AS churned_60,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 90) AS churned_90,
       count(*) FILTER (WHERE NOT gone_before AND churned AND churn_day <= 180) AS churned_180,
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
FROM per
GROUP BY grp, campaign_id, holdout
ORDER BY grp, campaign_id, holdout
