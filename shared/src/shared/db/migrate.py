"""Run Alembic programmatically (used by the dev launcher, the test harness and the compose job)."""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from shared.db.embedded import REPO_ROOT, resolve_database_url

# Installed (non-editable) images set TENURE_MIGRATIONS_DIR; a checkout finds them beside shared/.
MIGRATIONS_DIR = Path(os.environ.get("TENURE_MIGRATIONS_DIR", REPO_ROOT / "infra" / "migrations"))


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["url"] = resolve_database_url(url)
    return cfg


def heads(directory: Path = MIGRATIONS_DIR) -> list[str]:
    """The history's head revisions, read from the revision files alone (no database needed)."""
    cfg = Config(str(directory / "alembic.ini"))
    cfg.set_main_option("script_location", str(directory))
    return sorted(ScriptDirectory.from_config(cfg).get_heads())


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)


if __name__ == "__main__":
    import sys

    if not Path(MIGRATIONS_DIR).exists():
        sys.exit(f"migrations not found at {MIGRATIONS_DIR}")
    upgrade(None, sys.argv[1] if len(sys.argv) > 1 else "head")
    print("migrated to", sys.argv[1] if len(sys.argv) > 1 else "head")
