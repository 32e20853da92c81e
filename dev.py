#!/usr/bin/env python3
"""Tenure developer entry point. Needs only Python 3.11+.

    python3 dev.py up      # install, migrate, load demo data, run all four services
    python3 dev.py test    # install, run the whole test suite
    python3 dev.py check   # install, run the quality gate (ruff, mypy, migration heads, conventions)
    python3 dev.py setup   # install, plus what the tests need outside the venv (chromium)

Everything else (migrate, seed, bench helpers) lives in infra/devtools.py, run inside the venv.
This file is stdlib-only: it creates `.venv`, installs the packages when their pyproject files
change, then hands over to the venv's Python.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
STAMP = VENV / ".tenure-install-stamp"
# demo/ (tenure_demo, the synthetic city) is installed here for dev and tests; no service image ships it
SETUP_STAMP = VENV / ".tenure-setup-stamp"  # `devtools.py setup` has run for this venv
PACKAGES = ["shared", "demo", "services/customer-app", "services/manager-app", "services/alliance", "services/admin"]


def _install_fingerprint() -> str:
    h = hashlib.sha256()
    for rel in ["pyproject.toml", *(f"{p}/pyproject.toml" for p in PACKAGES)]:
        h.update((ROOT / rel).read_bytes())
    return h.hexdigest()


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit("Tenure needs Python 3.11 or newer")
    if not PY.exists():
        print("· creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    fingerprint = _install_fingerprint()
    if STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    print("· installing packages into .venv (first run takes a few minutes)", flush=True)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
    args: list[str] = []
    for pkg in PACKAGES:
        args += ["-e", pkg]
    subprocess.run([*pip, *args, "-e", ".[test]"], check=True, cwd=ROOT)
    STAMP.write_text(fingerprint)


def ensure_setup(always: bool) -> None:
    """The set-up step beyond the venv (chromium for the browser tests): once per venv, so the
    test command itself never installs anything; `dev.py setup` runs it again."""
    if SETUP_STAMP.exists() and not always:
        return
    subprocess.run([str(PY), str(ROOT / "infra" / "devtools.py"), "setup"], check=True, cwd=ROOT)
    SETUP_STAMP.write_text("done\n")


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in {"-h", "--help"}:
        print(__doc__)
        sys.exit(0)
    ensure_venv()
    if sys.argv[1] in {"test", "setup"}:
        ensure_setup(always=sys.argv[1] == "setup")
        if sys.argv[1] == "setup":
            return
    os.execv(str(PY), [str(PY), str(ROOT / "infra" / "devtools.py"), *sys.argv[1:]])


if __name__ == "__main__":
    main()
