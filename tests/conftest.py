"""Shared fixtures: a local web site (pytest-httpserver), databases (SQLite, and PostgreSQL when
MONITOR_TEST_DATABASE_URL is set), configurations written to tmp_path, an injectable clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from sqlalchemy import create_engine, text

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
PG_URL = os.environ.get("MONITOR_TEST_DATABASE_URL", "")


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    """A local web site that allows crawling (robots.txt) and answers only what a test sets up."""
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nAllow: /\n", content_type="text/plain"
    )
    return httpserver


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite in tmp_path, and a fresh PostgreSQL schema when available."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not PG_URL:
        pytest.skip("MONITOR_TEST_DATABASE_URL not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


class Clock:
    """A settable clock for the App and pure functions."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 5, 6, 3, 0, tzinfo=UTC))


def base_config(**overrides: Any) -> dict[str, Any]:
    """The shipped configuration (topics, rules, publishers, profiles) with test-friendly HTTP
    settings and no sources; ``overrides`` replace top-level keys."""
    shipped = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    shipped["sources"] = []
    shipped["http"] = {
        "retries": 1,
        "backoff": 0,
        "per_host_delay": 0,
        "connect_timeout": 5,
        "read_timeout": 5,
        "concurrency": 4,
        "per_host_concurrency": 4,
    }
    shipped.update(overrides)
    return shipped


def write_config(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def serve(site: HTTPServer, path: str, body: bytes, content_type: str) -> None:
    """Serve ``body`` at ``path`` with an ETag, answering 304 to a matching If-None-Match."""
    import hashlib

    from werkzeug import Request, Response

    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=content_type, headers={"ETag": etag})

    site.expect_request(path).respond_with_handler(handler)


def source(source_id: str, kind: str, url: str, publisher: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": source_id,
        "name": source_id,
        "kind": kind,
        "url": url,
        "publisher": publisher,
        "fetch_articles": False,
    } | extra


def make_app(
    tmp_path: Path, db_url: str, config: dict[str, Any], clock: Clock, **settings: Any
) -> Any:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.settings import Settings

    path = write_config(tmp_path / "sources.yaml", config)
    values = {
        "config_path": path,
        "database_url": db_url,
        "digest_dir": tmp_path / "digests",
        "data_dir": tmp_path / "data",
        "instance": "test",
        "allow_private_hosts": True,  # the fixture sites live on 127.0.0.1
    }
    return App(Settings(**(values | settings)), load_config(path), clock=clock)


def smtp_settings(port: int, **changes: Any) -> Any:
    from monitor.settings import SmtpSettings

    values = {
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "timeout": 5.0,
        "mail_from": "monitor@bulletin.example.org",
    }
    return SmtpSettings(**(values | changes))


@pytest.fixture
def mailserver() -> Iterator[Any]:
    from tests.mailserver import MailServer

    server = MailServer().start()
    yield server
    server.stop()
