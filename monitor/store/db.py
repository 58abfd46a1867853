"""Engines and migrations. SQLite gets WAL, foreign keys and a busy timeout.

Several instances may start at once; their migrations run one at a time: on PostgreSQL under a
session-level advisory lock, on a SQLite file under an exclusive lock on a file beside it.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.revision import HEAD_REVISION

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).parent / "migrations"
# The advisory lock key: the first 8 bytes of a hash of a fixed name, as a signed 64-bit integer.
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"monitor.store.migrations").digest()[:8], "big", signed=True
)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; creates the directory of a SQLite file. SQLite waits up to 30 s
    for a lock held by another writer (``?timeout=SECONDS`` in the URL changes that)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        busy = {} if "timeout" in parsed.query else {"timeout": 30}
        engine = create_engine(url, connect_args=busy)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _at(engine: Engine, wanted: str) -> bool:
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:
        return False
    return [row[0] for row in found] == [wanted]


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` (idempotent; one process at a time). A database
    already at the newest revision costs one query (Alembic is not even imported)."""
    if revision == "head" and _at(engine, HEAD_REVISION):
        return
    from alembic import command

    config = alembic_config()
    with (
        _file_lock(engine.url),
        engine.connect() as connection,
        _advisory_lock(connection),
        connection.begin(),
    ):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _advisory_lock(connection: Connection) -> Iterator[None]:
    """Hold PostgreSQL's session-level migration lock on ``connection`` (waits for it)."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.execute(select(func.pg_advisory_lock(MIGRATION_LOCK_KEY)))
    connection.commit()
    try:
        yield
    finally:
        _advisory_unlock(connection)


def _advisory_unlock(connection: Connection) -> None:
    try:
        connection.execute(select(func.pg_advisory_unlock(MIGRATION_LOCK_KEY)))
        connection.commit()
    except SQLAlchemyError:
        # Closing the session is what releases a session-level lock for sure.
        log.warning("cannot release the migration lock; closing the connection", exc_info=True)
        connection.invalidate()


@contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    """Hold an exclusive lock on ``<database>.lock`` beside a SQLite file (waits for it)."""
    path = sqlite_path(url)
    if path is None:
        yield
        return
    lock = path.with_name(path.name + ".lock")
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise StoreError(f"cannot create the migration lock {lock}: {e.strerror or e}") from e
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def sqlite_path(url: URL | str) -> Path | None:
    """The file of a SQLite database URL; None for other databases and in-memory ones."""
    url = make_url(url)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    return Path(name)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (read from Alembic's table without importing it)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    return found[0][0] if len(found) == 1 else None
