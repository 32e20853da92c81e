"""Throwaway PostgreSQL servers for the scale-out rehearsals (infra/scale/*): a primary, a streaming
replica of it built with pg_basebackup. Real PostgreSQL binaries, nothing home-made.

Each server lives in its own directory under a `mktemp -d` root and listens on 127.0.0.1:<port>
and a socket in that directory. As root, the binaries run as the `postgres` user (initdb refuses
root). Never point these at the shared system server's data directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


def available() -> bool:
    return all((PG_BIN / tool).exists() for tool in ("initdb", "pg_ctl", "pg_basebackup", "postgres"))


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str]) -> str:
    out = subprocess.run(_as_postgres(cmd), check=True, capture_output=True, text=True)
    return out.stdout


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def url(port: int, db: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{db}"


REPLICATION_RULE = "host replication all 127.0.0.1/32 trust\n"  # the rehearsal's servers are local


def init_primary(data: Path, port: int, *, extra: dict[str, str] | None = None) -> str:
    """initdb + start a primary that accepts replication connections from 127.0.0.1; its URL."""
    data.parent.mkdir(parents=True, exist_ok=True)
    _own(data.parent)
    _run([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    conf = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{data}'",
        "wal_level": "replica",
        "max_wal_senders": "10",
        "hot_standby": "on",
        "max_connections": "200",
        "fsync": "off",  # a rehearsal on a shared box; durability is the failover drill's subject
        **(extra or {}),
    }
    with (data / "postgresql.conf").open("a") as f:
        f.writelines(f"{k} = {v}\n" for k, v in conf.items())
    with (data / "pg_hba.conf").open("a") as f:
        f.write(REPLICATION_RULE)
    start(data)
    return url(port)


def make_replica(primary_port: int, data: Path, port: int) -> str:
    """A streaming replica of the server on primary_port (pg_basebackup -R: standby.signal and
    primary_conninfo written for us), started on `port`; its URL."""
    data.parent.mkdir(parents=True, exist_ok=True)
    _own(data.parent)
    _run(
        [
            str(PG_BIN / "pg_basebackup"),
            "-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres",
            "-D", str(data), "-R", "-X", "stream", "-c", "fast",
        ]
    )  # fmt: skip
    if not (data / "pg_hba.conf").exists():
        # a packaged server (Debian's /etc/postgresql/...) keeps its configuration outside the data
        # directory, so the backup holds none: give the replica the local trust rules of a rehearsal
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n" + REPLICATION_RULE)
        _own(data / "pg_hba.conf")
    with (data / "postgresql.conf").open("a") as f:
        f.write(f"port = {port}\nunix_socket_directories = '{data}'\nhot_standby = on\n")
    with (data / "postgresql.auto.conf").open("a") as f:
        f.write(
            f"primary_conninfo = 'host=127.0.0.1 port={primary_port} user=postgres application_name=replica{port}'\n"
        )
    start(data)
    return url(port)


def start(data: Path) -> None:
    _run([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "server.log"), "-w", "-t", "60", "start"])


def stop(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]), check=False)


def psql(port: int, sql: str, db: str = "postgres") -> str:
    return _run(
        ["/usr/lib/postgresql/15/bin/psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-Atc", sql]
    ).strip()


def wait_replayed(primary_port: int, replica_port: int, timeout_s: float = 30.0) -> None:
    """Until the replica has replayed everything the primary had written when this was called."""
    target = psql(primary_port, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if psql(replica_port, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
            return
        time.sleep(0.1)
    raise TimeoutError("the replica did not catch up")
