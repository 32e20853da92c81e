-- One daily check-in in ONE statement (one round trip): reads the rules and yesterday's streak,
-- claims the day through the ledger txn's UNIQUE key (checkin:<customer>:<day>), credits the
-- customer's points account (created on the fly by the upsert) from a sharded issuance account,
-- writes the checkins row, both ledger entries and, when called over HTTP, the idempotency record
-- holding the exact response body.
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
), txn AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT CAST(:lkey AS text), 'checkin', 'customer:' || CAST(:cid AS bigint),
           jsonb_build_object('streak', c.streak, 'local_date', CAST(:day AS date))
    FROM calc c
    WHERE c.shard_id IS NOT NULL AND c.reward > 0
      AND (CAST(:ikey AS text) IS NULL OR NOT EXISTS (
            SELECT 1 FROM idempotency_records
            WHERE principal = CAST(:principal AS text) AND key = CAST(:ikey AS text)))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id
), acc AS (
    INSERT INTO ledger_accounts (asset, kind, owner_id, customer_id, balance, allow_negative)
    SELECT 'points', 'customer', CAST(:cid AS bigint), CAST(:cid AS bigint), c.reward, false FROM txn, calc c
    ON CONFLICT (asset, kind, owner_id) WHERE owner_id IS NOT NULL
    DO UPDATE SET balance = ledger_accounts.balance + EXCLUDED.balance
    RETURNING id, balance
), iss AS (
    UPDATE ledger_accounts a SET balance = a.balance - c.reward
    FROM calc c, txn WHERE a.id = c.shard_id
    RETURNING a.id
), ck AS (
    INSERT INTO checkins (customer_id, local_date, streak, points, makeup, txn_id)
    SELECT CAST(:cid AS bigint), CAST(:day AS date), c.streak, c.reward, false, txn.id FROM txn, calc c
    RETURNING streak
), ent AS (
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id, expires_on)
    SELECT txn.id, acc.id, 'points', c.reward, CAST(:cid AS bigint), c.expires_on FROM txn, acc, calc c
    UNION ALL
    SELECT txn.id, c.shard_id, 'points', -c.reward, CAST(:cid AS bigint), NULL FROM txn, calc c
    RETURNING id
), idem AS (
    INSERT INTO idempotency_records (principal, key, request_hash, status_code, response_body)
    SELECT CAST(:principal AS text), CAST(:ikey AS text), CAST(:hash AS text), 200,
           jsonb_build_object('local_date', CAST(:day AS date), 'streak', c.streak, 'points', c.reward,
                              'balance', acc.balance, 'makeup', false, 'expires_on', c.expires_on)::text
    FROM txn, acc, calc c
    WHERE CAST(:ikey AS text) IS NOT NULL
    -- no ON CONFLICT: a concurrent request holding the same key (for another day) makes the
    -- whole statement fail with a unique violation, so nothing is written without its record
    RETURNING response_body
)
SELECT (SELECT id FROM txn) AS txn_id,
       (SELECT balance FROM acc) AS balance,
       (SELECT count(*) FROM iss) AS shard_moved,
       (SELECT count(*) FROM ck) AS rows,
       (SELECT count(*) FROM ent) AS legs,
       (SELECT response_body FROM idem) AS body,
       c.streak, c.reward, c.expires_on, c.shard_id
FROM calc c
