-- The hot part of a winning play in ONE statement, run last in the play's transaction so the
-- prize row and the pool balance stay locked only for this statement and the commit:
-- take one unit of the prize (guarded: remaining > 0), move `amount` from the prize pool
-- (guarded: the pool may not go negative) to the customer's already-opened account, and write
-- the play row with its result. If the prize ran out meanwhile, only the (losing) play is written.
WITH prize AS (
    UPDATE hunt_prizes SET remaining = remaining - 1
    WHERE id = CAST(:prize_id AS int) AND remaining > 0
    RETURNING id, amount
), txn AS (
    INSERT INTO ledger_txns (idempotency_key, kind, reference, memo)
    SELECT CAST(:lkey AS text), 'hunt_prize', 'hunt_prize:' || prize.id,
           jsonb_build_object('hunt_id', CAST(:hunt_id AS int), 'play_key', CAST(:ikey AS text))
    FROM prize
    RETURNING id
), pool AS (
    UPDATE ledger_accounts a SET balance = a.balance - prize.amount
    FROM prize, txn
    WHERE a.id = CAST(:pool AS bigint) AND a.balance >= prize.amount
    RETURNING a.id
), dest AS (
    UPDATE ledger_accounts a SET balance = a.balance + prize.amount
    FROM prize, txn
    WHERE a.id = CAST(:dest AS bigint)
    RETURNING a.id
), ent AS (
    INSERT INTO ledger_entries (txn_id, account_id, asset, amount, customer_id, expires_on)
    SELECT txn.id, pool.id, CAST(:asset AS text), -prize.amount, CAST(:cid AS bigint), NULL FROM txn, prize, pool
    UNION ALL
    SELECT txn.id, dest.id, CAST(:asset AS text), prize.amount, CAST(:cid AS bigint), CAST(:expires_on AS date)
    FROM txn, prize, dest
    RETURNING id
), play AS (
    INSERT INTO hunt_plays (hunt_id, customer_id, spot_id, local_date, prize_id, idempotency_key, result)
    SELECT CAST(:hunt_id AS int), CAST(:cid AS bigint), CAST(:spot_id AS int), CAST(:day AS date),
           (SELECT id FROM prize), CAST(:ikey AS text),
           CASE WHEN EXISTS (SELECT 1 FROM txn) THEN
               jsonb_build_object('won', true, 'prize_id', (SELECT id FROM prize), 'prize_type', CAST(:prize_type AS text),
                                  'amount', (SELECT amount FROM prize), 'txn_id', (SELECT id FROM txn),
                                  'expires_on', CAST(:expires_on AS date))
           ELSE '{"won": false}'::jsonb END
    RETURNING id, result, created_at
)
SELECT (SELECT id FROM play) AS play_id,
       (SELECT result FROM play) AS result,
       (SELECT created_at FROM play) AS created_at,
       (SELECT id FROM txn) AS txn_id,
       (SELECT count(*) FROM pool) AS pool_moved,
       (SELECT count(*) FROM dest) AS dest_moved,
       (SELECT count(*) FROM ent) AS legs
