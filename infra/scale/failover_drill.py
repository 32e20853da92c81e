"""Failover drill on real components: pg_auto_failover (monitor + 2 nodes, synchronous replication),
the customer app on a multi-host URL, a check-in load, SIGKILL of the primary.

    sudo apt-get install -y postgresql-15-auto-failover      # Debian 12
    .venv/bin/python infra/scale/failover_drill.py [--customers 5000] [--rate 50] [--before 8] [--after 20]

What it does, in a fresh `mktemp -d` directory on ports 57432.. (nothing else is touched):
1. `pg_autoctl create monitor`, then two `pg_autoctl create postgres` nodes; waits for
   primary + secondary (pg_auto_failover makes the standby synchronous: a commit returns only
   once the standby has it);
2. migrates and seeds a small city through the multi-host URL
   `postgresql://postgres@127.0.0.1:P1,127.0.0.1:P2/tenure?target_session_attrs=read-write`;
3. starts the customer app (uvicorn) on that URL and sends check-ins (one per customer, open
   loop at --rate), recording every acknowledged one (HTTP 200);
4. SIGKILLs the primary's pg_autoctl keeper and its postgres (a lost machine), waits for the
   monitor to promote the standby, keeps the load running;
5. reports: failover seconds (kill → first acknowledged check-in after it), errors during the
   failover, acknowledged vs present (each acknowledged check-in's ledger txn
   `checkin:<customer>:<day>` on the new primary), and the ledger verification.
Exit status 0 only if no acknowledged check-in is missing and the ledger verifies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from shared import clock
from shared.auth.principals import Audience, Principal
from shared.auth.tokens import issue_access_token
from shared.settings import Settings

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent


class Cluster:
    def __init__(self, root: Path, base_port: int) -> None:
        self.root = root
        self.mport, self.p1, self.p2 = base_port, base_port + 1, base_port + 2
        self.env = {
            **os.environ,
            "PATH": f"{PG_BIN}:{os.environ['PATH']}",
            "XDG_CONFIG_HOME": str(root / "config"),
            "XDG_DATA_HOME": str(root / "share"),
            "XDG_RUNTIME_DIR": str(root / "run"),
            "PG_CONFIG": str(PG_BIN / "pg_config"),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def cmd(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args

    @property
    def monitor_url(self) -> str:
        return f"postgres://autoctl_node@127.0.0.1:{self.mport}/pg_auto_failover?sslmode=disable"

    def spawn(self, name: str, args: list[str]) -> None:
        log = (self.root / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(
            self.cmd(args), env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def create(self) -> None:
        for d in ("config", "share", "run"):
            (self.root / d).mkdir(mode=0o700)
            if os.geteuid() == 0:
                shutil.chown(self.root / d, "postgres", "postgres")
        common = ["--hostname", "127.0.0.1", "--auth", "trust", "--no-ssl", "--pgctl", str(PG_BIN / "pg_ctl")]
        self.spawn(
            "monitor",
            ["pg_autoctl", "create", "monitor", "--pgdata", str(self.root / "monitor"), "--pgport", str(self.mport), *common, "--run"],
        )  # fmt: skip
        self.wait(lambda: self.psql(self.mport, "SELECT 1", db="pg_auto_failover", check=False) == "1", 60, "monitor")
        # quicker failure detection than the defaults (20 s unhealthy, 5 s health checks): a drill, not prod tuning
        for k, v in (("node_considered_unhealthy_timeout", 5000), ("health_check_period", 1000)):
            self.psql(self.mport, f"ALTER SYSTEM SET pgautofailover.{k} = {v}", db="pg_auto_failover")
        self.psql(self.mport, "SELECT pg_reload_conf()", db="pg_auto_failover")
        for name, port in (("node1", self.p1), ("node2", self.p2)):
            self.spawn(
                name,
                [
                    "pg_autoctl", "create", "postgres", "--pgdata", str(self.root / name), "--pgport", str(port),
                    "--name", name, "--dbname", "tenure", "--monitor", self.monitor_url, "--run", *common,
                ],
            )  # fmt: skip
            if name == "node2":  # pg_autoctl's pg_basebackup waits for a spread checkpoint (minutes): ask for one now
                time.sleep(3)
                self.psql(self.p1, "CHECKPOINT")
            want = ("single", "primary") if name == "node1" else ("secondary",)
            self.wait(lambda n=name, w=want: self.state(n) in w, 120, f"{name} {want}")
        self.wait(lambda: self.state("node1") == "primary", 60, "node1 primary with a synchronous standby")

    def state(self, node: str) -> str | None:
        out = self.psql(
            self.mport,
            f"SELECT reportedstate FROM pgautofailover.node WHERE nodename = '{node}'",
            db="pg_auto_failover",
            check=False,
        )
        return out or None

    def psql(self, port: int, sql: str, db: str = "postgres", *, check: bool = True) -> str:
        p = subprocess.run(
            [str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-Atc", sql],
            capture_output=True,
            text=True,
            env=self.env,
        )
        if check and p.returncode:
            raise RuntimeError(p.stderr)
        return p.stdout.strip()

    @staticmethod
    def wait(pred: Any, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.5)
        raise TimeoutError(f"waited {timeout_s}s for {what}")

    def kill_node(self, name: str) -> None:
        """SIGKILL the node's keeper and every postgres process of its data directory."""
        keeper = self.procs[name]
        os.killpg(keeper.pid, signal.SIGKILL)
        pid_file = self.root / name / "postmaster.pid"
        if pid_file.exists():
            pm = int(pid_file.read_text().split()[0])
            subprocess.run(["pkill", "-KILL", "-P", str(pm)], check=False)
            os.kill(pm, signal.SIGKILL)

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        for name in ("node1", "node2", "monitor"):
            if (self.root / name / "postmaster.pid").exists():
                subprocess.run(
                    self.cmd([str(PG_BIN / "pg_ctl"), "-D", str(self.root / name), "-m", "immediate", "stop"]),
                    check=False,
                )


def _error_code(r: httpx.Response) -> str | None:
    try:
        body = r.json()
    except ValueError:
        return None
    return str(body.get("error")) if isinstance(body, dict) else None  # the platform's {"error", "detail", "context"}


async def load(
    url: str, settings: Settings, customers: list[int], rate: float, stop_at: list[float], log: list[dict[str, Any]]
) -> None:
    """Open loop: check-in k for customers[k] is sent at t0 + k/rate; every outcome is logged."""
    async with httpx.AsyncClient(base_url=url, timeout=20) as client:
        t0 = time.monotonic()
        tasks = []

        async def one(cid: int) -> None:
            tok = issue_access_token(settings, Principal("customer", cid, "customer", Audience.CUSTOMER), ttl_s=3600)
            sent = time.monotonic()
            try:
                r = await client.post(
                    "/v1/checkin", headers={"Authorization": f"Bearer {tok}", "Idempotency-Key": f"drill-checkin-{cid}"}
                )
                status: int | str = r.status_code
                code = _error_code(r) if r.status_code >= 400 else None
            except httpx.HTTPError as exc:
                status, code = type(exc).__name__, None
            log.append({"cid": cid, "sent": sent, "done": time.monotonic(), "status": status, "code": code})

        for k, cid in enumerate(customers):
            at = t0 + k / rate
            if time.monotonic() >= stop_at[0]:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            tasks.append(asyncio.create_task(one(cid)))
        await asyncio.gather(*tasks)


async def drill(args: argparse.Namespace) -> int:
    root = Path(tempfile.mkdtemp(prefix="tenure-failover-"))
    root.chmod(0o755)
    if os.geteuid() == 0:  # the servers run as postgres (initdb refuses root) and create their directories here
        shutil.chown(root, "postgres", "postgres")
    cl = Cluster(root, args.base_port)
    app_proc: subprocess.Popen[bytes] | None = None
    report: dict[str, Any] = {"root": str(root)}
    print(f"· drill directory {root}", flush=True)
    try:
        t = time.monotonic()
        cl.create()
        report["cluster_ready_s"] = round(time.monotonic() - t, 1)
        report["synchronous_standby_names"] = cl.psql(cl.p1, "SHOW synchronous_standby_names")
        url = f"postgresql://postgres@127.0.0.1:{cl.p1},127.0.0.1:{cl.p2}/tenure?target_session_attrs=read-write"
        env = {**os.environ, "DATABASE_URL": url, "TENURE_ACCESS_LOG": "0", "TENURE_CONNECT_TIMEOUT_S": "2"}
        py = str(VENV / "python")
        subprocess.run([py, "-c", "from shared.db.migrate import upgrade; upgrade()"], env=env, check=True, cwd=REPO)
        subprocess.run(
            [py, "-m", "tenure_demo", "--customers", str(args.customers), "--months", "2", "--workers", "1"],
            env=env, check=True, cwd=REPO, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        app_log = (root / "customer-app.log").open("wb")
        app_proc = subprocess.Popen(
            [str(VENV / "uvicorn"), "customer_app.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(args.app_port), "--no-access-log"],
            env=env, cwd=REPO, stdout=app_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{args.app_port}"
        cl.wait(lambda: _ready(base), 60, "customer app ready")

        settings = Settings()
        outcomes: list[dict[str, Any]] = []
        stop_at = [time.monotonic() + args.before + args.after + 120]
        task = asyncio.create_task(
            load(base, settings, list(range(1, args.customers + 1)), args.rate, stop_at, outcomes)
        )
        await asyncio.sleep(args.before)
        killed_at = time.monotonic()
        cl.kill_node("node1")
        print(f"· killed node1 (primary) after {args.before}s of load", flush=True)
        promoted_at = None
        while time.monotonic() - killed_at < 120:
            if cl.state("node2") in ("wait_primary", "primary"):
                promoted_at = time.monotonic()
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(args.after)
        stop_at[0] = time.monotonic()
        await task

        acked = [o for o in outcomes if o["status"] == 200]
        after_kill = [o for o in acked if o["sent"] >= killed_at]
        errors = [o for o in outcomes if o["status"] != 200]
        first_ok = min((o["done"] for o in after_kill), default=None)
        day = clock.today().isoformat()
        conn = await asyncpg.connect(
            host=["127.0.0.1", "127.0.0.1"], port=[cl.p1, cl.p2], user="postgres", database="tenure",
            target_session_attrs="read-write",
        )  # fmt: skip
        try:
            keys = [f"checkin:{o['cid']}:{day}" for o in acked]
            present = await conn.fetchval(
                "SELECT count(*) FROM ledger_txns WHERE idempotency_key = ANY($1::text[])", keys
            )
            server = await conn.fetchval("SELECT inet_server_port()")
        finally:
            await conn.close()
        verify = subprocess.run([py, "-c", _VERIFY], env=env, cwd=REPO, capture_output=True, text=True, check=False)
        report |= {
            "requests": len(outcomes),
            "acknowledged": len(acked),
            "acknowledged_present_in_ledger": present,
            "acknowledged_missing": len(acked) - present,
            "errors": len(errors),
            "error_kinds": _count(str(o["status"]) for o in errors),
            # what each refusal said (e.g. a 422's code): why a request was not acknowledged
            "error_codes": _count(f"{o['status']} {o.get('code')}" for o in errors),
            "monitor_promoted_s": round(promoted_at - killed_at, 1) if promoted_at else None,
            "failover_s": round(first_ok - killed_at, 1) if first_ok else None,
            "new_primary_port": server,
            "ledger_verify": verify.stdout.strip() or verify.stderr.strip()[-400:],
        }
        print(json.dumps(report, indent=2))
        ok = report["acknowledged_missing"] == 0 and '"ok": true' in verify.stdout
        return 0 if ok else 1
    finally:
        if app_proc is not None:
            app_proc.terminate()
            app_proc.wait(timeout=20)
        cl.stop()
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


_VERIFY = """
import asyncio, json
from shared.db.engine import create_engine, create_sessionmaker
from shared.ledger.service import verify
from shared.settings import get_settings
async def main():
    engine = create_engine(get_settings(), process="drill.verify")
    async with create_sessionmaker(engine)() as s:
        r = await verify(s)
    await engine.dispose()
    print(json.dumps({"ok": r.get("ok")}))
asyncio.run(main())
"""


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _count(items: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        out[i] = out.get(i, 0) + 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--customers", type=int, default=5000, help="one check-in each: the load must outlast the ~40 s promotion"
    )
    ap.add_argument("--rate", type=float, default=50.0, help="check-ins per second")
    ap.add_argument("--before", type=float, default=8.0, help="seconds of load before the kill")
    ap.add_argument("--after", type=float, default=20.0, help="seconds of load after the promotion")
    ap.add_argument("--base-port", type=int, default=57432, help="monitor; the nodes take the next two")
    ap.add_argument("--app-port", type=int, default=18301)
    ap.add_argument("--keep", action="store_true", help="keep the directory (logs) afterwards")
    signal.signal(signal.SIGTERM, _interrupt)  # `kill <pid>` still stops the cluster it built
    sys.exit(asyncio.run(drill(ap.parse_args())))


def _interrupt(_sig: int, _frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    main()
