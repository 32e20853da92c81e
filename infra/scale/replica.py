"""Build a real streaming replica with pg_basebackup, for DATABASE_READ_URL.

    python infra/scale/replica.py --primary-port 55432 --port 55433          # replica of a server
    python infra/scale/replica.py --new-primary --primary-port 55432 --port 55433   # both, fresh

The primary must allow replication connections from 127.0.0.1 (`--new-primary` builds one that
does). Prints the URLs and the directory; stop with `pg_ctl -D <dir>/<name> stop` or `--stop DIR`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgcluster  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--primary-port", type=int, default=55432)
    ap.add_argument("--port", type=int, default=55433, help="the replica's port")
    ap.add_argument("--dir", type=Path, default=None, help="root directory (default: mktemp -d)")
    ap.add_argument("--new-primary", action="store_true", help="initdb and start a primary first")
    ap.add_argument("--stop", type=Path, default=None, help="stop the servers under this root and exit")
    args = ap.parse_args()
    if args.stop:
        for name in ("replica", "primary"):
            pgcluster.stop(args.stop / name)
        return
    root = args.dir or Path(tempfile.mkdtemp(prefix="tenure-replica-"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)  # the postgres user (as root, the servers run as it) must reach its data
    if args.new_primary:
        print("primary:", pgcluster.init_primary(root / "primary", args.primary_port))
    replica = pgcluster.make_replica(args.primary_port, root / "replica", args.port)
    in_recovery = pgcluster.psql(args.port, "SELECT pg_is_in_recovery()")
    print("replica:", replica, "in recovery:", in_recovery)
    print("root:", root)


if __name__ == "__main__":
    main()
