-- The hot part of a winning play in ONE statement, run last in the play's transaction so the
-- prize row and the pool balance stay locked only for this statement and the commit:
-- take one unit of the prize (guarded: remaining > 0), move `amount` from the prize pool
-- (guarded: the pool may not go negative) to the customer's already-opened account, and write
-- the play row with its result. If the prize ran out meanwhile, only the (losing) play is written.
-- The ledger half is shared.ledger.bulk's block (between accounts), spliced in below at import.
WITH prize AS (
    UPDATE hunt_prizes SET remaining = remaining - 1
    WHERE id = CAST(:prize_id AS int) AND remaining > 0
    RETURNING id, amount
), postings AS (
    SELECT CAST(:lkey AS text) AS key, 'hunt_prize'::text AS kind, 'hunt_prize:' || prize.id AS reference,
           jsonb_build_object('hunt_id', CAST(:hunt_id AS int), 'play_key', CAST(:ikey AS text)) AS memo,
           CAST(:asset AS text) AS asset, CAST(:pool AS bigint) AS debit_id, CAST(:dest AS bigint) AS credit_id,
           prize.amount::bigint AS amount, CAST(:cid AS bigint) AS customer_id, CAST(:expires_on AS date) AS expires_on
    FROM prize
),
{ledger_posting},
play AS (
    INSERT INTO hunt_plays (hunt_id, customer_id, spot_id, local_date, prize_id, idempotency_key, result)
    SELECT CAST(:hunt_id AS int), CAST(:cid AS bigint), CAST(:spot_id AS int), CAST(:day AS date),
           (SELECT id FROM prize), CAST(:ikey AS text),
           CASE WHEN EXISTS (SELECT 1 FROM posted_txns) THEN
               jsonb_build_object('won', true, 'prize_id', (SELECT id FROM prize), 'prize_type', CAST(:prize_type AS text),
                                  'amount', (SELECT amount FROM prize), 'txn_id', (SELECT id FROM posted_txns),
                                  'expires_on', CAST(:expires_on AS date))
           ELSE '{"won": false}'::jsonb END
    RETURNING id, result, created_at
)
SELECT (SELECT id FROM play) AS play_id,
       (SELECT result FROM play) AS result,
       (SELECT created_at FROM play) AS created_at,
       (SELECT id FROM prize) AS prize_taken,
       (SELECT id FROM posted_txns) AS txn_id,
       (SELECT count(*) FROM posted_accounts) AS moved,
       (SELECT count(*) FROM posted_legs) AS legs
