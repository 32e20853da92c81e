-- Citus layout for the Tenure schema: a plan, rehearsed nowhere yet (Citus is not packaged for
-- Debian 12; run on a Citus 12 coordinator after `alembic upgrade head`). README "How it scales
-- past one machine" and infra/citus/README.md say what does not route to one shard.
--
-- Rule: everything about one subscriber lives on the shard of its customer id, so the request
-- paths (check-in, account, portrait, a manager's action on one customer) touch one shard.
-- Small, rarely written tables every shard joins with are reference tables (copied to every node).
-- Operational tables that are neither (jobs, audit, runs, rate limits) stay local on the coordinator.
--
-- Before this runs, the schema needs these changes (Citus requires the distribution column in
-- every PRIMARY KEY and UNIQUE constraint of a distributed table, and foreign keys between
-- distributed tables to include it):
--   * PK (id) -> (customer_id, id) on: assignment_history care_tasks competitor_calls complaints
--     coupons handsets hunt_plays key_moment_events manager_contacts pack_gifts plan_changes
--     reassignment_requests recommendations redemptions sms_replies subscriptions topups touches
--     customer_tag_history ledger_entries ledger_txns (the latter two get a customer_id, see below)
--   * customers: PK (id) stays (id IS the distribution column); UNIQUE (phone) cannot be enforced
--     across shards -> a reference-free lookup table phone_directory(phone PK, customer_id)
--     distributed by phone (sign-in finds the customer id there, then routes).
--   * UNIQUE (dedupe_key) on care_tasks, (code_hash) on coupons, (source, external_id) on
--     key_moment_events, (source_ref) on plan_changes/topups, (merchant_id, request_key) on
--     pack_gifts/redemptions, (gateway_message_id) on sms_replies, (task_id) on manager_contacts:
--     each becomes (customer_id, ...) — the keys are built from the customer already, except the
--     coupon code hash (till lookup: a coupon_codes(code_hash PK, customer_id) table distributed
--     by code_hash) and the SMS gateway id (sms_replies are matched to a customer before insert).
--   * ledger: ledger_txns and ledger_entries carry customer_id (the customer whose money moves;
--     every movement in the code has exactly one customer side, or none for budget/system moves).
--     System accounts (issuance, budgets, prize pools) are per shard: `points:issuance:checkin:NN`
--     already exists as 16 shards; their routing key becomes the shard's bucket. Moves without
--     a customer (alliance budgets, merchant prepaid) route on a merchant bucket key instead.

SET citus.shard_count = 64;

-- the anchor of the co-location group
SELECT create_distributed_table('customers', 'id');

-- one subscriber's rows, co-located with customers
SELECT create_distributed_table(t, 'customer_id', colocate_with => 'customers')
FROM unnest(ARRAY[
    'monthly_usage', 'handsets', 'subscriptions', 'plan_changes', 'topups', 'complaints',
    'competitor_calls', 'key_moment_events', 'checkins', 'hunt_plays', 'customer_features',
    'customer_profiles', 'customer_tag_sets', 'customer_tag_history', 'four_high_flags',
    'greetings', 'manager_assignments', 'assignment_history', 'reassignment_requests',
    'care_tasks', 'manager_contacts', 'touches', 'recommendations', 'campaign_members',
    'sms_replies', 'coupons', 'redemptions', 'pack_gifts',
    'ledger_accounts', 'ledger_txns', 'ledger_entries'
]) AS t;

-- reference tables: small, read by every shard's joins, written by the back office
SELECT create_reference_table(t)
FROM unnest(ARRAY[
    'org_units', 'staff_users', 'products', 'programme_settings', 'tag_definitions', 'tier_rules',
    'strategies', 'campaigns', 'holidays', 'behaviour_clusters', 'churn_models',
    'merchants', 'merchant_stores', 'merchant_clients', 'offers', 'ads', 'operator_packs',
    'treasure_hunts', 'hunt_spots', 'hunt_prizes'
]) AS t;

-- local tables on the coordinator (operational, not per subscriber; no joins with shards):
--   audit_log engine_runs engine_run_stages import_jobs job_progress job_schedules
--   procrastinate_* (the job queue) rate_limit_buckets otp_codes refresh_tokens
--   idempotency_records (keyed by principal: could be distributed by principal if it grows)
--   incentive_statements settlements webhook_deliveries (per manager / per merchant, small)
