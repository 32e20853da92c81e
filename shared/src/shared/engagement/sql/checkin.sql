-- One daily check-in in ONE statement (one round trip): reads the rules and yesterday's streak,
-- claims the day through the ledger txn's UNIQUE key (checkin:<customer>:<day>), credits the
-- customer's points account (created on the fly by the upsert) from a sharded issuance account,
-- writes the checkins row, both ledger entries and, when called over HTTP, the idempotency record
-- holding the exact response body. The ledger half is shared.ledger.bulk's block (to customers),
-- spliced in below when the module is imported.
-- Concurrency: a second check-in for the same day blocks on the txn key until the first commits,
-- then inserts nothing (txn_id NULL). Accounts are locked customer-first then shard, always in
-- this statement's fixed order, and the shard (customer_id % N) spreads the issuance hot row.
WITH rules AS (
    -- published values merged over the defaults (shared.programme.settings.DEFAULTS), as programme_settings.get does
    SELECT '{checkin_defaults}'::jsonb || coalesce((SELECT value FROM programme_settings WHERE key = 'checkin_rules'), '{{}}'::jsonb) AS ck,
           '{expiry_defaults}'::jsonb || coalesce((SELECT value FROM programme_settings WHERE key = 'points_expiry'), '{{}}'::jsonb) AS ex
), prev AS (
    SELECT coalesce((SELECT streak FROM checkins
                     WHERE customer_id = CAST(:cid AS bigint) AND local_date = CAST(:prev AS date)), 0) + 1 AS streak
), calc AS (
    SELECT p.streak,
           coalesce(
               (r.ck->'rewards'->>((p.streak - 1) % greatest(jsonb_array_length(
                   CASE WHEN jsonb_typeof(r.ck->'rewards') = 'array' THEN r.ck->'rewards' ELSE '[5]'::jsonb END), 1)))::int,
               5) AS reward,
           {expires_on} AS expires_on,
           (SELECT id FROM ledger_accounts WHERE code = CAST(:shard AS text)) AS shard_id
    FROM rules r, prev p
), postings AS (
    SELECT CAST(:lkey AS text) AS key, 'checkin'::text AS kind, 'customer:' || CAST(:cid AS bigint) AS reference,
           jsonb_build_object('streak', c.streak, 'local_date', CAST(:day AS date)) AS memo,
           'points'::text AS asset, c.shard_id AS debit_id, NULL::bigint AS credit_id, c.reward::bigint AS amount,
           CAST(:cid AS bigint) AS customer_id, c.expires_on
    FROM calc c
    WHERE c.shard_id IS NOT NULL AND c.reward > 0
      AND (CAST(:ikey AS text) IS NULL OR NOT EXISTS (
            SELECT 1 FROM idempotency_records
            WHERE principal = CAST(:principal AS text) AND key = CAST(:ikey AS text)))
),
{ledger_posting},
ck AS (
    INSERT INTO checkins (customer_id, local_date, streak, points, makeup, txn_id)
    SELECT CAST(:cid AS bigint), CAST(:day AS date), c.streak, c.reward, false, t.id FROM posted_txns t, calc c
    RETURNING streak
), idem AS (
    INSERT INTO idempotency_records (principal, key, request_hash, status_code, response_body)
    SELECT CAST(:principal AS text), CAST(:ikey AS text), CAST(:hash AS text), 200,
           jsonb_build_object('local_date', CAST(:day AS date), 'streak', c.streak, 'points', c.reward,
                              'balance', a.balance, 'makeup', false, 'expires_on', c.expires_on)::text
    FROM posted_txns t, posted_credits a, calc c
    WHERE CAST(:ikey AS text) IS NOT NULL
    -- no ON CONFLICT: a concurrent request holding the same key (for another day) makes the
    -- whole statement fail with a unique violation, so nothing is written without its record
    RETURNING response_body
)
SELECT (SELECT id FROM posted_txns) AS txn_id,
       (SELECT balance FROM posted_credits) AS balance,
       (SELECT count(*) FROM posted_debits) AS shard_moved,
       (SELECT count(*) FROM ck) AS rows,
       (SELECT count(*) FROM posted_legs) AS legs,
       (SELECT response_body FROM idem) AS body,
       c.streak, c.reward, c.expires_on, c.shard_id
FROM calc c
