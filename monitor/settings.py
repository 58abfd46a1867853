"""Settings from the environment: where things are, how to reach the database and mail server.

Secrets (the SMTP password, the language model's API key, the review desk's token) come only
from here, never from sources.yaml. ``Settings.from_env``
checks every value and reports everything wrong at once as a ``ConfigError`` naming the
variables; ``writable_dir`` checks a folder just before a command needs it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

from monitor.errors import ConfigError, Problem

TlsMode = Literal["starttls", "ssl", "none"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
URL_EXPECTED = (
    "an SQLAlchemy URL such as sqlite:///data/monitor.db or "
    "postgresql+psycopg://user:pw@host/db is expected"
)
POSTGRES_HINT = "pip install 'monitor[postgres]'"
REVIEW_TOKEN_MIN = 16  # characters of MONITOR_REVIEW_TOKEN, at least
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_Check: TypeAlias = Callable[[str], str | None]


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None = None
    port: int = 587
    tls: TlsMode = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    mail_from: str = "monitor@localhost"
    timeout: float = 30.0
    cafile: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.host)


@dataclass(frozen=True)
class LlmSettings:
    """An OpenAI-compatible chat-completions service that drafts Chinese headlines and leads
    (Ollama, vLLM, llama.cpp or a hosted one). Unconfigured: the offline skeleton only."""

    base_url: str | None = None  # e.g. http://localhost:11434/v1
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # sent as a Bearer token
    timeout: float = 30.0  # seconds per request
    max_per_week: int = 60  # model drafts per digest week
    budget: float = 120.0  # seconds one digest may spend on the model

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)


@dataclass(frozen=True)
class Settings:
    config_path: Path = Path("sources.yaml")
    data_dir: Path = Path("data")
    digest_dir: Path = Path("digests")
    database_url: str = field(default="", repr=False)  # may hold a password
    timezone: str | None = None
    http_host: str | None = None
    http_port: int | None = None
    allow_private_hosts: bool | tuple[str, ...] = False  # or the networks allowed
    log_level: str = "INFO"
    digest_to: tuple[str, ...] = ()
    alert_to: tuple[str, ...] = ()
    instance: str = ""
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    llm: LlmSettings = field(default_factory=LlmSettings)
    review_token: str | None = field(default=None, repr=False)  # the desk's secret; None: off

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'monitor.db'}"

    @property
    def sqlite_dir(self) -> Path | None:
        """The folder of the SQLite database file, or None (another database, or in memory)."""
        from monitor.store.db import sqlite_path

        path = sqlite_path(self.db_url)
        return path.parent if path else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        read = _Reader(os.environ if env is None else env)
        settings = cls(
            config_path=Path(read.text("MONITOR_CONFIG") or "sources.yaml"),
            data_dir=Path(read.text("MONITOR_DATA_DIR") or "data"),
            digest_dir=Path(read.text("MONITOR_DIGEST_DIR") or "digests"),
            database_url=read.checked("MONITOR_DATABASE_URL", database_url_problem),
            timezone=read.checked("MONITOR_TZ", timezone_problem) or None,
            http_host=read.text("MONITOR_HTTP_HOST") or None,
            http_port=read.port("MONITOR_HTTP_PORT"),
            allow_private_hosts=read.networks("MONITOR_ALLOW_PRIVATE_HOSTS"),
            log_level=read.checked("MONITOR_LOG_LEVEL", log_level_problem).upper() or "INFO",
            digest_to=_addresses(read.text("MONITOR_DIGEST_TO")),
            alert_to=_addresses(read.text("MONITOR_ALERT_TO")),
            instance=read.text("MONITOR_INSTANCE") or f"{socket.gethostname()}:{os.getpid()}",
            smtp=_smtp(read),
            llm=_llm(read),
            review_token=_review_token(read),
        )
        if read.problems:
            raise ConfigError(read.problems)
        return settings


def _smtp(read: _Reader) -> SmtpSettings:
    tls = read.text("MONITOR_SMTP_TLS").lower() or "starttls"
    if tls not in ("starttls", "ssl", "none"):
        read.problem("MONITOR_SMTP_TLS", f"{tls!r} (use starttls, ssl or none)")
        tls = "starttls"
    port = read.port("MONITOR_SMTP_PORT")
    return SmtpSettings(
        host=read.text("MONITOR_SMTP_HOST") or None,
        port=(465 if tls == "ssl" else 587) if port is None else port,
        tls=tls,  # type: ignore[arg-type]
        user=read.text("MONITOR_SMTP_USER") or None,
        password=read.env.get("MONITOR_SMTP_PASSWORD") or None,
        mail_from=read.text("MONITOR_MAIL_FROM") or "monitor@localhost",
        cafile=read.text("MONITOR_SMTP_CAFILE") or None,
    )


def _review_token(read: _Reader) -> str | None:
    """The review desk's sign-in secret (MONITOR_REVIEW_TOKEN); None leaves the desk off."""
    token = read.env.get("MONITOR_REVIEW_TOKEN", "").strip()
    if token and len(token) < REVIEW_TOKEN_MIN:
        read.problem(
            "MONITOR_REVIEW_TOKEN",
            f"is too short ({len(token)} characters; use at least {REVIEW_TOKEN_MIN}, "
            "e.g. from `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)",
        )
        return None
    return token or None


def _llm(read: _Reader) -> LlmSettings:
    base_url = read.checked("MONITOR_LLM_BASE_URL", llm_url_problem).rstrip("/")
    model = read.text("MONITOR_LLM_MODEL")
    if bool(read.text("MONITOR_LLM_BASE_URL")) != bool(model):
        missing = "MONITOR_LLM_MODEL" if not model else "MONITOR_LLM_BASE_URL"
        read.problem(
            missing,
            "is needed too (set both MONITOR_LLM_BASE_URL and MONITOR_LLM_MODEL, or neither)",
        )
    return LlmSettings(
        base_url=base_url or None,
        model=model or None,
        api_key=read.env.get("MONITOR_LLM_API_KEY", "").strip() or None,
        timeout=read.number("MONITOR_LLM_TIMEOUT", 30.0, "seconds", low=1, high=600),
        max_per_week=int(read.number("MONITOR_LLM_MAX_PER_WEEK", 60, "drafts", whole=True)),
        budget=read.number("MONITOR_LLM_BUDGET", 120.0, "seconds", low=1, high=86400),
    )


class _Reader:
    """Reads variables and collects a Problem for every value that is wrong."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[Problem] = []

    def problem(self, name: str, message: str) -> None:
        self.problems.append(Problem("environment", None, name, message))

    def text(self, name: str) -> str:
        return self.env.get(name, "").strip()

    def checked(self, name: str, check: _Check) -> str:
        """The value, or "" (the default) when it is missing or ``check`` finds it wrong."""
        value = self.text(name)
        message = check(value) if value else None
        if message:
            self.problem(name, message)
            return ""
        return value

    def port(self, name: str) -> int | None:
        value = self.text(name)
        if value.isascii() and value.isdigit() and int(value) <= 65535:
            return int(value)
        if value:
            self.problem(name, f"{value!r} is not a port number (use 0 to 65535)")
        return None

    def number(
        self,
        name: str,
        default: float,
        unit: str,
        *,
        low: float = 0,
        high: float = 1e6,
        whole: bool = False,
    ) -> float:
        """A number from ``low`` to ``high`` (a whole one if ``whole``), or ``default``."""
        value = self.text(name)
        if not value:
            return default
        try:
            number = int(value) if whole else float(value)
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            kind = "a whole number" if whole else "a number"
            self.problem(name, f"{value!r} is not {kind} of {unit} from {low:g} to {high:g}")
            return default
        return number

    def networks(self, name: str) -> bool | tuple[str, ...]:
        """A yes/no value, or a comma-separated list of IP addresses and networks (CIDR)."""
        value = self.text(name)
        if value.lower() in _TRUE + _FALSE or not value:
            return self.flag(name)
        entries = tuple(e.strip() for e in value.split(",") if e.strip())
        for entry in entries:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                self.problem(
                    name,
                    f"{entry!r} is neither yes/no nor an IP address or network "
                    "(use 1/0, or e.g. 10.20.0.0/16,192.168.5.7)",
                )
                return False
        return entries

    def flag(self, name: str) -> bool:
        value = self.text(name).lower()
        if value and value not in _TRUE + _FALSE:
            self.problem(
                name, f"{value!r} is not a yes/no value (use 1/0, true/false, yes/no, on/off)"
            )
        return value in _TRUE


def log_level_problem(value: str) -> str | None:
    """What is wrong with a logging level name (any case), or None."""
    if value.upper() in LOG_LEVELS:
        return None
    return f"{value!r} is not a log level (use {', '.join(LOG_LEVELS[:-1])} or {LOG_LEVELS[-1]})"


def timezone_problem(value: str) -> str | None:
    """What is wrong with an IANA time zone name such as Europe/London, or None."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"{value!r} is not an IANA time zone name (e.g. Europe/London, Asia/Shanghai, UTC)"
    return None


def llm_url_problem(value: str) -> str | None:
    """What is wrong with the base URL of a chat-completions service, or None. A URL with a
    password is refused (it would show in logs): the key goes in MONITOR_LLM_API_KEY."""
    from urllib.parse import urlsplit

    expected = "an http(s) URL such as http://localhost:11434/v1 is expected"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        return f"not a URL ({expected})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http(s) URL ({expected})"
    if parts.username or parts.password:
        return "holds a user name or password (put the key in MONITOR_LLM_API_KEY)"
    return None


def database_url_problem(value: str) -> str | None:
    """What is wrong with an SQLAlchemy URL (unparsable, unknown database, driver not installed),
    or None. The URL is never echoed: it may hold a password."""
    if _usual_database_url(value):  # checked without importing SQLAlchemy (slow to import)
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except ArgumentError:
        return f"not a database URL ({URL_EXPECTED})"
    try:
        dialect = url.get_dialect()
    except (NoSuchModuleError, ImportError):
        return f"unknown database {url.drivername!r} ({URL_EXPECTED})"
    try:
        dialect.import_dbapi()
    except ImportError:
        return _missing_driver(url.get_backend_name(), url.get_driver_name())
    return None


def _usual_database_url(value: str) -> bool:
    """Whether ``value`` is plainly a SQLite file URL or a PostgreSQL URL with its installed
    driver; anything else goes through SQLAlchemy's own check."""
    import importlib.util
    from urllib.parse import urlsplit

    scheme, _, rest = value.partition("://")
    if scheme in ("sqlite", "sqlite+pysqlite"):
        return rest.startswith("/") and "?" not in rest
    if scheme != "postgresql+psycopg":
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        return False
    return bool(parts.hostname or parts.query) and importlib.util.find_spec("psycopg") is not None


def _missing_driver(backend: str, driver: str) -> str:
    message = f"the {backend} driver {driver!r} is not installed"
    if backend != "postgresql":
        return message
    if driver == "psycopg":
        return f"{message} ({POSTGRES_HINT})"
    return f"{message} (use postgresql+psycopg://user:pw@host/db and {POSTGRES_HINT})"


def writable_dir(path: Path, name: str) -> Problem | None:
    """A Problem naming the variable ``name`` when ``path`` cannot be created or written to
    by this process, else None (the folder then exists)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        wrong = "is not a folder" if path.exists() else f"cannot be created: {e.strerror or e}"
        return _folder_problem(name, path, wrong)
    if not os.access(path, os.W_OK | os.X_OK):
        return _folder_problem(name, path, "is not writable")
    return None


def _folder_problem(name: str, path: Path, wrong: str) -> Problem:
    message = f"{str(path)!r} {wrong} (a folder this process can write to is expected)"
    return Problem("environment", None, name, message)


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in value.split(",") if a.strip())
