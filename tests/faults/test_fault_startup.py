"""Faults: several instances starting at once on a fresh database must not race in the migration
(each one waits for the migration lock); a failed migration releases the lock."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from monitor.store.db import alembic_config, current_revision
from tests.conftest import ROOT

INSTANCES = 5


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade_processes(db_url: str, cwd: Path) -> list[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= {"MONITOR_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "monitor", "db", "upgrade"]
    return [
        subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(INSTANCES)
    ]


@pytest.mark.parametrize("trial", range(3))
def test_concurrent_db_upgrade_on_a_fresh_database(db_url: str, tmp_path: Path, trial: int) -> None:
    processes = upgrade_processes(db_url, tmp_path)
    results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    for code, stdout, stderr in results:
        assert code == 0, stderr.decode()
        assert b"Traceback" not in stderr
        assert f"database at revision {head_revision()}" in stdout.decode()
    engine = create_engine(db_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_failed_migration_releases_the_lock(db_url: str) -> None:
    from alembic.util import CommandError

    from monitor.store.db import make_engine, upgrade

    engine = make_engine(db_url)
    try:
        with pytest.raises(CommandError):
            upgrade(engine, "no-such-revision")
        assert not lock_held(engine)
        upgrade(engine)
        assert not lock_held(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def lock_held(engine: Engine) -> bool:
    """Whether the migration lock is still held: by this process's pooled PostgreSQL session,
    or (SQLite) on the lock file beside the database."""
    from monitor.store.db import sqlite_path

    if engine.dialect.name == "postgresql":
        query = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        with engine.connect() as connection:
            return bool(connection.execute(text(query)).scalar_one())
    path = sqlite_path(engine.url)
    assert path is not None
    with path.with_name(path.name + ".lock").open("a") as file:
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
    return False
