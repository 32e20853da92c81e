"""Set-based postings: the ledger half of one SQL statement that posts many transactions.

The hot and bulk paths (daily check-in, a treasure-hunt win, monthly accrual, daily expiry) write
their own rows and the ledger's in ONE statement, for one round trip and all-or-nothing writes.
The ledger half is the same for all of them and lives here, spliced into the caller's SQL once,
at import time (no string building per request):

    WITH ..., postings AS (SELECT <key> AS key, <kind> AS kind, ... FROM ...),
    {ledger_posting}
    , my_rows AS (INSERT INTO my_table ... SELECT ... FROM posted_txns ...)
    SELECT ...

`postings` holds one row per transaction, with the columns of POSTING_COLUMNS (keys unique within
the statement). The block then defines, for the rest of the statement:

- posted_txns(id, idempotency_key): the txns this statement created. A key posted before is
  skipped (a replay); a concurrent duplicate waits on the UNIQUE key, then is skipped.
- posted(txn_id, <postings columns>): the postings of those txns.
- posted_accounts(id, balance): every account whose balance moved, with its new balance. Each
  balance moves once, by the net of its legs, after every account was locked in id order.
- posted_refused(account_id): accounts that may not go negative and would have (guarded
  `balance + delta >= 0`): not moved and given no legs, so their txns cannot commit (the
  deferred balance trigger). The caller checks its count with `raise_if_refused`.
- posted_legs(txn_id, account_id, amount): the entries written.

`to_customers=True` (the check-in's shape: credits to accounts opened on the fly): the credit leg
goes to the customer's (asset, customer) account, opened or topped up by one upsert and locked
first (`credit_id` is ignored), from ONE debit account for the whole statement (an issuance shard),
locked next; at most one posting per customer and asset. It adds posted_credits(id, asset,
customer_id, balance) and posted_debits(id, balance), and is kept lean for the check-in hot path.

The invariants stay in the database: the deferred trigger refuses an unbalanced txn, entries are
append-only, and a CHECK keeps non-negative accounts non-negative. Nothing here commits.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import TextClause, text

from shared.ledger.errors import InsufficientFunds
from shared.models import Asset

MARKER = "{ledger_posting}"
POSTING_COLUMNS = (
    "key",
    "kind",
    "reference",
    "memo",
    "asset",
    "debit_id",
    "credit_id",
    "amount",
    "customer_id",
    "expires_on",
)
_SQL = Path(__file__).parent / "sql"
_BLOCKS = {
    False: (_SQL / "post_between.sql").read_text(),
    True: (_SQL / "post_to_customers.sql").read_text(),
}
_OPEN_ACCOUNTS = (_SQL / "open_customer_accounts.sql").read_text()


def compose(statement: str, *, to_customers: bool = False) -> str:
    """`statement` with the ledger block in place of its one `{ledger_posting}` marker."""
    if statement.count(MARKER) != 1:
        raise ValueError(f"a bulk posting statement needs exactly one {MARKER} marker")
    return statement.replace(MARKER, _BLOCKS[to_customers].strip())


def raise_if_refused(refused: int, **context: object) -> None:
    """Raise InsufficientFunds when the statement refused to overdraw `refused` accounts.

    The caller's transaction must then roll back (it cannot commit anyway: the refused legs
    are missing, so the deferred balance trigger would refuse the commit).
    """
    if refused:
        raise InsufficientFunds("balance too low", accounts=int(refused), **context)


def open_customer_accounts(customers: str, *, asset: Asset) -> TextClause:
    """Statement opening zero-balance (asset, customer) accounts for the ids `customers` selects.

    `customers` is a SELECT returning one column `customer_id` (bound parameters allowed);
    existing accounts are left alone, so a re-run opens nothing twice.
    """
    return text(_OPEN_ACCOUNTS.replace("{customers}", customers).replace("{asset}", Asset(asset).value))
