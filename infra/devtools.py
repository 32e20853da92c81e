"""Developer commands, run inside the venv by `python3 dev.py <command>`.

    up [--customers N] [--fresh] [--no-seed] [--workers N]
                                                migrate, load demo data, run the four services
                                                (uvicorn workers each: TENURE_WEB_WORKERS, default one per core)
    test [pytest args]                          the whole test suite, `-n auto` unless the args say otherwise
    setup                                       system packages for the tests (chromium), see setup()
    check [step ...]                            the quality gate: ruff, ruff-format, mypy, heads, conventions
    migrate                                     alembic upgrade head on the dev database
    seed [--customers N]                        load the demo city and domain seed data
    url                                         print the dev database URL

Database: DATABASE_URL if set, else an embedded PostgreSQL under .data/ (git-ignored) with a
database named `tenure`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVICES = [
    ("customer-app", "customer_app.app:create_app", 8001),
    ("manager-app", "manager_app.app:create_app", 8002),
    ("alliance", "alliance_app.app:create_app", 8003),
    ("admin", "admin_app.app:create_app", 8004),
]
# the job worker (imports, engine runs, schedules, ...): `python -m shared.jobs worker`, metrics on :8005
WORKER = ("worker", ["-m", "shared.jobs", "worker"], 8005)
DEMO_LOGINS = """\
Demo sign-ins (development data only):
  back office   http://127.0.0.1:8004/console/   admin / tenure-admin-dev   (also analyst, strategist, operator, auditor / tenure-dev)
  manager app   POST :8002/v1/auth/login         mgr0001 / tenure-dev  (branch head head01, hall staff hall01, same password)
  customer app  POST :8001/v1/auth/otp {"phone": "13800000001"}, the code is printed in this log, then POST /v1/auth/login
  alliance      POST :8003/v1/oauth/token         client_id demo-merchant-1 / client_secret demo-merchant-secret-dev
"""


def dev_database_url() -> str:
    from shared.db.embedded import start_embedded, to_libpq_url, with_database

    if os.environ.get("DATABASE_URL"):
        return to_libpq_url(os.environ["DATABASE_URL"])
    server = start_embedded()
    import psycopg

    with psycopg.connect(server, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'tenure'").fetchone():
            conn.execute('CREATE DATABASE "tenure"')
    return with_database(server, "tenure")


def recreate(url: str) -> None:
    import psycopg

    from shared.db.embedded import with_database

    name = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def migrate(url: str) -> None:
    from shared.db.migrate import upgrade

    upgrade(url)
    print("· schema migrated to head", flush=True)


def is_empty(url: str) -> bool:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0


def seed(url: str, customers: int) -> None:
    from tenure_demo.seed import seed_demo

    t0 = time.perf_counter()
    result = seed_demo(url, customers=customers, progress=lambda line: print(f"  {line}", flush=True))
    print(
        f"· demo data loaded in {time.perf_counter() - t0:.1f}s (seeders: {', '.join(result['seeders']) or 'none'})",
        flush=True,
    )


def up(args: argparse.Namespace) -> None:
    url = dev_database_url()
    if args.fresh:
        recreate(url)
    migrate(url)
    if not args.no_seed and is_empty(url):
        seed(url, args.customers)
    from shared.web.workers import pool_per_worker, web_workers

    workers = args.workers or web_workers()
    env = {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}
    env.setdefault("TENURE_POOL_SIZE", str(pool_per_worker(workers)))
    procs: list[subprocess.Popen[bytes]] = []
    for _name, target, port in SERVICES:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            target,
            "--factory",
            "--host",
            args.host,
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            "--workers",
            str(workers),
        ]
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT))
    procs.append(subprocess.Popen([sys.executable, *WORKER[1]], env=env, cwd=ROOT))
    print(
        f"\nTenure is running ({workers} worker process(es) per service, pool {env['TENURE_POOL_SIZE']} each):",
        flush=True,
    )
    for name, _, port in SERVICES:
        print(f"  {name:<13} http://127.0.0.1:{port}   docs http://127.0.0.1:{port}/docs")
    print(f"  {WORKER[0]:<13} python -m shared.jobs worker   metrics http://127.0.0.1:{WORKER[2]}/metrics")
    print("\n" + DEMO_LOGINS + "\nPress Ctrl-C to stop.", flush=True)

    def stop(*_: object) -> None:
        for p in procs:
            p.terminate()

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    failed = [p.returncode for p in procs if p.returncode not in (0, -15, None)]
    sys.exit(1 if failed else 0)


def setup() -> None:
    """System packages the tests need beyond the venv; run by dev.py once (and by `dev.py setup`).

    Today that is chromium for the console tests: Debian's, with apt-get when we are root. Where
    it cannot be installed the browser tests skip with the reason; the test command never
    installs anything itself.
    """
    if shutil.which("chromium") or os.environ.get("TENURE_NO_BROWSER_INSTALL"):
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("· installing chromium for the browser tests (apt-get)", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, stdout=subprocess.DEVNULL)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-wqy-microhei"],
            env=env,
            check=False,
            stdout=subprocess.DEVNULL,
        )
    if not shutil.which("chromium"):
        print("· chromium not available: browser tests will be skipped", flush=True)


def _chooses_workers(args: list[str]) -> bool:
    """Whether the pytest arguments already say how many processes (or switch xdist off)."""
    for i, a in enumerate(args):
        if a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses=")):
            return True
        if a == "-pno:xdist" or (a == "no:xdist" and i > 0 and args[i - 1] == "-p"):
            return True
    return False


def test(extra: list[str]) -> None:
    """pytest with `-n <TENURE_TEST_WORKERS or auto>` unless the arguments choose (`-n 0` runs in one process)."""
    workers = [] if _chooses_workers(extra) else ["-n", os.environ.get("TENURE_TEST_WORKERS", "auto")]
    cmd = [sys.executable, "-m", "pytest", *workers, *extra]
    sys.exit(subprocess.call(cmd, cwd=ROOT))


def _migration_heads() -> int:
    from shared.db.migrate import heads

    found = heads()
    if len(found) != 1:
        print(f"migration history has {len(found)} heads ({', '.join(found) or 'none'}); chain them into one line")
        return 1
    print(f"one migration head: {found[0]}")
    return 0


# The quality gate, in the order `check` runs it (CONTRIBUTING.md says what each step is for).
CHECKS: dict[str, list[str] | Callable[[], int]] = {
    "ruff": [sys.executable, "-m", "ruff", "check", "."],
    "ruff-format": [sys.executable, "-m", "ruff", "format", "--check", "--output-format", "concise", "."],
    "mypy": [sys.executable, "-m", "mypy"],  # files and flags: [tool.mypy] in pyproject.toml
    "heads": _migration_heads,
    "conventions": [sys.executable, str(ROOT / "infra" / "lint" / "conventions.py")],
    # the k8s manifests against the bundled Kubernetes 1.30 schemas (offline, a few seconds)
    "k8s": [
        sys.executable,
        "-m",
        "kubernetes_validate",
        "--strict",
        "-k",
        "1.30.0",
        *sorted(str(p) for p in (ROOT / "infra" / "k8s").glob("*.yaml")),
    ],
}


def check(steps: list[str]) -> None:
    """Run every step (or the named ones) even after a failure, then exit 1 if any failed."""
    failed: list[str] = []
    for name in steps or list(CHECKS):
        print(f"· check {name}", flush=True)
        step = CHECKS[name]
        code = step() if callable(step) else subprocess.call(step, cwd=ROOT)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"· check failed: {', '.join(failed)}", flush=True)
        sys.exit(1)
    print("· check passed", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="dev.py")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up")
    p_up.add_argument("--customers", type=int, default=3000)
    p_up.add_argument("--fresh", action="store_true", help="drop and recreate the dev database first")
    p_up.add_argument("--no-seed", action="store_true")
    p_up.add_argument("--host", default="127.0.0.1")
    p_up.add_argument(
        "--workers",
        type=int,
        default=0,
        help="uvicorn workers per service (default TENURE_WEB_WORKERS or one per core)",
    )
    sub.add_parser("test", add_help=False)
    p_check = sub.add_parser("check", help="the quality gate (no database needed)")
    p_check.add_argument(
        "steps", nargs="*", metavar="step", help=f"any of {', '.join(CHECKS)} (default: all, in order)"
    )
    sub.add_parser("migrate")
    sub.add_parser("setup")
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--customers", type=int, default=3000)
    sub.add_parser("url")
    if len(sys.argv) > 1 and sys.argv[1] == "test":
        test(sys.argv[2:])
        return
    args = parser.parse_args()
    if args.cmd == "up":
        up(args)
    elif args.cmd == "check":
        if unknown := [s for s in args.steps if s not in CHECKS]:
            parser.error(f"unknown check {', '.join(unknown)}; the checks are {', '.join(CHECKS)}")
        check(args.steps)
    elif args.cmd == "setup":
        setup()
    elif args.cmd == "migrate":
        migrate(dev_database_url())
    elif args.cmd == "seed":
        url = dev_database_url()
        migrate(url)
        seed(url, args.customers)
    elif args.cmd == "url":
        print(dev_database_url())


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
