"""Read-only queries for ``monitor status``, over a plain DB-API connection.

``status`` is the command people run to see at once whether anything is wrong, so it must
start fast: importing SQLAlchemy alone takes longer than the whole command may (0.5 s). These
queries are plain SQL that SQLite and PostgreSQL both run, through ``sqlite3`` or ``psycopg``
directly. They only read, and only a database at the newest revision (``open_lean`` returns
None otherwise, and the caller lets the Store migrate it first).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from monitor.health import WEEKS, first_counted_day, weekly_counts
from monitor.store.revision import HEAD_REVISION


class _Connection(Protocol):
    def cursor(self) -> Any: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class SourceLine:
    id: str
    name: str
    kind: str
    last_poll_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    items_7d: int
    last_item_date: date | None
    weekly_counts: tuple[int, ...]
    incidents: tuple[str, ...]


@dataclass(frozen=True)
class FailedDelivery:
    week: str
    profile: str
    recipient: str
    last_error: str | None


@dataclass(frozen=True)
class StatusReport:
    sources: list[SourceLine]
    shared: list[tuple[int, int, str]]  # story id, sources carrying it, title of its first item
    pending: int
    failed: list[FailedDelivery]
    flashes: dict[str, int]  # news alerts by status: pending, failed


class LeanReader:
    """The status queries on one connection; ``dialect`` is "sqlite" or "postgresql"."""

    def __init__(self, connection: _Connection, dialect: str) -> None:
        self.connection = connection
        self.dialect = dialect

    def _rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        if self.dialect == "postgresql":
            sql = re.sub(r":(\w+)", r"%(\1)s", sql)
        with closing(self.connection.cursor()) as cursor:
            cursor.execute(sql, params or {})
            return list(cursor.fetchall())

    def _when(self, value: datetime) -> Any:
        """A bound datetime as the column stores it (SQLite: naive UTC text, as SQLAlchemy
        writes it, so that comparisons are the text comparisons of the stored values)."""
        value = value.astimezone(UTC)
        if self.dialect == "sqlite":
            return value.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def _date(self, value: date) -> Any:
        return value.isoformat() if self.dialect == "sqlite" else value

    def revision(self) -> str | None:
        try:
            rows = self._rows("SELECT version_num FROM alembic_version")
        except Exception:  # no such table: a database never migrated
            return None
        return str(rows[0][0]) if len(rows) == 1 else None

    def source_ids(self) -> set[str]:
        return {str(r[0]) for r in self._rows("SELECT id FROM sources")}

    def report(self, now: datetime, today: date) -> StatusReport:
        since = self._when(now - timedelta(days=7))
        # SQLite reads the first_seen_at index only when the subquery is not flattened
        limit = " LIMIT -1" if self.dialect == "sqlite" else ""
        recent = dict(
            self._rows(
                "SELECT source_id, count(*) FROM (SELECT source_id FROM item_sources"
                f" WHERE first_seen_at >= :since{limit}) AS recent GROUP BY source_id",
                {"since": since},
            )
        )
        published = self._rows(
            "SELECT s.source_id, i.published_date FROM item_sources s"
            " JOIN items i ON i.id = s.item_id"
            " WHERE i.published_date > :first AND i.published_date <= :today",
            {"first": self._date(first_counted_day(today)), "today": self._date(today)},
        )
        counts = weekly_counts(((source, _day(day)) for source, day in published), today)
        last_item = {
            source_id: _day(day)
            for source_id, day in self._rows(
                "SELECT s.source_id, max(i.published_date) FROM item_sources s"
                " JOIN items i ON i.id = s.item_id GROUP BY s.source_id"
            )
            if day is not None
        }
        incidents: dict[str, list[str]] = {}
        for source_id, kind in self._rows(
            "SELECT source_id, kind FROM health_states WHERE state = 'open'"
            " ORDER BY source_id, kind"
        ):
            incidents.setdefault(source_id, []).append(kind)
        sources = [
            SourceLine(
                id=r[0],
                name=r[1],
                kind=r[2],
                last_poll_at=_moment(r[3]),
                last_success_at=_moment(r[4]),
                consecutive_failures=int(r[5] or 0),
                last_error=r[6],
                items_7d=int(recent.get(r[0], 0)),
                last_item_date=last_item.get(r[0]),
                weekly_counts=tuple(counts.get(r[0], [0] * WEEKS)),
                incidents=tuple(incidents.get(r[0], ())),
            )
            for r in self._rows(
                "SELECT id, name, kind, last_poll_at, last_success_at, consecutive_failures,"
                " last_error FROM sources ORDER BY id"
            )
        ]
        deliveries = self._rows(
            "SELECT week, profile, recipient, status, last_error FROM deliveries"
            " WHERE status IN ('pending', 'failed') ORDER BY week, profile, recipient"
        )
        flashes = dict(
            self._rows(
                "SELECT status, count(*) FROM flashes WHERE status IN ('pending', 'failed')"
                " GROUP BY status"
            )
        )
        return StatusReport(
            flashes={status: int(n) for status, n in flashes.items()},
            sources=sources,
            shared=self.shared_stories(now - timedelta(days=7)),
            pending=sum(d[3] == "pending" for d in deliveries),
            failed=[FailedDelivery(d[0], d[1], d[2], d[4]) for d in deliveries if d[3] == "failed"],
        )

    def shared_stories(self, since: datetime, limit: int = 20) -> list[tuple[int, int, str]]:
        """Stories seen since ``since`` that several sources carried, the most widely carried
        first."""
        rows = self._rows(
            "SELECT coalesce(i.story_id, i.id) AS story, count(DISTINCT s.source_id) AS n,"
            " min(i.id) FROM items i JOIN item_sources s ON s.item_id = i.id"
            " WHERE i.first_seen_at >= :since GROUP BY coalesce(i.story_id, i.id)"
            " HAVING count(DISTINCT s.source_id) > 1 ORDER BY n DESC, story"
            f" LIMIT {int(limit)}",
            {"since": self._when(since)},
        )
        titles: dict[int, str] = {}
        if rows:
            marks = ", ".join(f":i{n}" for n in range(len(rows)))
            titles = dict(
                self._rows(
                    f"SELECT id, title FROM items WHERE id IN ({marks})",
                    {f"i{n}": r[2] for n, r in enumerate(rows)},
                )
            )
        return [(int(story), int(n), titles.get(first, "")) for story, n, first in rows]


@contextmanager
def open_lean(url: str) -> Iterator[LeanReader | None]:
    """A reader on the database at ``url`` when it exists and is at the newest revision;
    None when it is not (missing, older, another kind of database): then use the Store."""
    reader = _connect(url)
    if reader is None:
        yield None
        return
    try:
        yield reader if reader.revision() == HEAD_REVISION else None
    finally:
        reader.connection.close()


def _connect(url: str) -> LeanReader | None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        if not path.name or not path.is_file():
            return None
        import sqlite3

        try:
            sqlite = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
        except sqlite3.Error:
            return None
        return LeanReader(sqlite, "sqlite")
    for prefix in ("postgresql+psycopg://", "postgresql://"):
        if url.startswith(prefix):
            import psycopg

            try:
                postgres = psycopg.connect("postgresql://" + url.removeprefix(prefix))
            except psycopg.Error:
                return None
            postgres.autocommit = True
            return LeanReader(postgres, "postgresql")
    return None


def _moment(value: Any) -> datetime | None:
    """A stored datetime as an aware UTC datetime (SQLite hands back text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day(value: Any) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
