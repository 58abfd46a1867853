"""Settings from the environment: where things are, how to reach the database and mail server.

Secrets (the SMTP password) come only from here, never from sources.yaml.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from monitor.errors import ConfigError, Problem

TlsMode = Literal["starttls", "ssl", "none"]


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
class Settings:
    config_path: Path = Path("sources.yaml")
    data_dir: Path = Path("data")
    digest_dir: Path = Path("digests")
    database_url: str = ""
    timezone: str | None = None
    http_port: int | None = None
    digest_to: tuple[str, ...] = ()
    alert_to: tuple[str, ...] = ()
    instance: str = ""
    smtp: SmtpSettings = field(default_factory=SmtpSettings)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'monitor.db'}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        problems: list[Problem] = []

        def number(name: str, default: int) -> int:
            value = env.get(name, "").strip()
            if not value:
                return default
            if not value.isdigit():
                problems.append(Problem("environment", None, name, f"not a number: {value!r}"))
                return default
            return int(value)

        tls = env.get("MONITOR_SMTP_TLS", "starttls").strip().lower() or "starttls"
        if tls not in ("starttls", "ssl", "none"):
            problems.append(
                Problem(
                    "environment", None, "MONITOR_SMTP_TLS", f"{tls!r} (use starttls, ssl or none)"
                )
            )
            tls = "starttls"
        smtp = SmtpSettings(
            host=env.get("MONITOR_SMTP_HOST") or None,
            port=number("MONITOR_SMTP_PORT", 465 if tls == "ssl" else 587),
            tls=tls,  # type: ignore[arg-type]
            user=env.get("MONITOR_SMTP_USER") or None,
            password=env.get("MONITOR_SMTP_PASSWORD") or None,
            mail_from=env.get("MONITOR_MAIL_FROM") or "monitor@localhost",
            cafile=env.get("MONITOR_SMTP_CAFILE") or None,
        )
        port = env.get("MONITOR_HTTP_PORT")
        settings = cls(
            config_path=Path(env.get("MONITOR_CONFIG") or "sources.yaml"),
            data_dir=Path(env.get("MONITOR_DATA_DIR") or "data"),
            digest_dir=Path(env.get("MONITOR_DIGEST_DIR") or "digests"),
            database_url=env.get("MONITOR_DATABASE_URL", ""),
            timezone=env.get("MONITOR_TZ") or None,
            http_port=number("MONITOR_HTTP_PORT", 0) if port else None,
            digest_to=_addresses(env.get("MONITOR_DIGEST_TO", "")),
            alert_to=_addresses(env.get("MONITOR_ALERT_TO", "")),
            instance=env.get("MONITOR_INSTANCE") or f"{socket.gethostname()}:{os.getpid()}",
            smtp=smtp,
        )
        if problems:
            raise ConfigError(problems)
        return settings


def _addresses(value: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in value.split(",") if a.strip())
