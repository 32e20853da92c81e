"""Start PgBouncer in transaction mode in front of a PostgreSQL server (Debian's pgbouncer 1.18).

    python infra/scale/pgbouncer.py --server-port 5432 --port 56432     # prints DATABASE_URL, runs until ^C

Then run the services with `DATABASE_URL=postgresql://postgres@127.0.0.1:56432/<db>`
`TENURE_DB_PGBOUNCER=1` and `DATABASE_DIRECT_URL=<the server itself>` (the job worker and the
engine LISTEN and hold session advisory locks, which transaction pooling cannot carry).

PgBouncer 1.18 forwards only the startup parameters it tracks (application_name, TimeZone, ...),
so the services send no statement/lock/idle timeouts in pgbouncer mode; this config sets them on
every server connection with connect_query instead (the API values from shared/settings.py).
Any database name is forwarded (`* = host=... port=...`): the test harness's per-module databases too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CONNECT_QUERY = (
    "SET statement_timeout = 15000; SET lock_timeout = 5000; "
    "SET idle_in_transaction_session_timeout = 30000; SET jit = off"
)


def write_config(root: Path, *, server_host: str, server_port: int, port: int, pool_size: int) -> Path:
    ini = root / "pgbouncer.ini"
    (root / "userlist.txt").write_text('"postgres" ""\n')
    ini.write_text(
        f"""[databases]
* = host={server_host} port={server_port} connect_query='{CONNECT_QUERY}'

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir = {root}
auth_type = trust
auth_file = {root}/userlist.txt
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 2000
max_db_connections = {pool_size * 2}
server_reset_query =
ignore_startup_parameters = extra_float_digits
logfile = {root}/pgbouncer.log
pidfile = {root}/pgbouncer.pid
admin_users = postgres
"""
    )
    return ini


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server-host", default="127.0.0.1")
    ap.add_argument("--server-port", type=int, default=5432)
    ap.add_argument("--port", type=int, default=56432)
    ap.add_argument("--pool-size", type=int, default=20, help="server connections per database/user pair")
    ap.add_argument("--dir", type=Path, default=None, help="config/log directory (default: mktemp -d)")
    ap.add_argument("--daemon", action="store_true", help="detach (stop: kill $(cat <dir>/pgbouncer.pid))")
    args = ap.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="tenure-pgbouncer-"))
    root.mkdir(parents=True, exist_ok=True)
    ini = write_config(
        root, server_host=args.server_host, server_port=args.server_port, port=args.port, pool_size=args.pool_size
    )
    cmd = [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", *(["-d"] if args.daemon else []), str(ini)]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        root.chmod(0o777)
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    print(f"DATABASE_URL=postgresql://postgres@127.0.0.1:{args.port}/postgres TENURE_DB_PGBOUNCER=1  (dir {root})")
    sys.stdout.flush()
    subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
