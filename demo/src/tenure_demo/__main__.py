"""`python -m tenure_demo --customers N [--months 7] [--seed 42] [--database-url URL]`

Loads the synthetic city into an empty migrated database (DATABASE_URL, or the embedded server).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from shared.db.embedded import resolve_database_url
from tenure_demo.generator import DatabaseNotEmpty, load_city
from tenure_demo.seed import seed_demo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tenure_demo", description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=5000)
    ap.add_argument("--months", type=int, default=7)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--database-url", default=None, help="default: $DATABASE_URL, else embedded PostgreSQL")
    ap.add_argument("--as-of", type=date.fromisoformat, default=None, help="pretend today is this date")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) if the database has data")
    ap.add_argument("--with-seeders", action="store_true", help="also run the domain demo seeders")
    args = ap.parse_args(argv)
    url = resolve_database_url(args.database_url)
    if args.with_seeders:
        try:
            result = seed_demo(url, customers=args.customers, progress=lambda s: print(s, flush=True))
        except DatabaseNotEmpty as exc:
            print(f"{'skipped' if args.if_empty else 'error'}: {exc}", file=sys.stderr)
            return 0 if args.if_empty else 2
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return 0
    try:
        result = load_city(
            url,
            customers=args.customers,
            months=args.months,
            seed=args.seed,
            as_of=args.as_of,
            workers=args.workers,
            progress=lambda s: print(s, flush=True),
        )
    except DatabaseNotEmpty as exc:
        print(f"{'skipped' if args.if_empty else 'error'}: {exc}", file=sys.stderr)
        return 0 if args.if_empty else 2
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
