"""The one exception tree of monitor.

MonitorError
├── ConfigError      a user's mistake in sources.yaml (lists every problem; exit status 2)
├── FetchError       a source could not be fetched (HTTP error, timeout, robots.txt, too large)
│   └── FetchCancelledError  the fetch was cancelled because the service is stopping
├── ParseError       a source answered but its content could not be read
├── StoreError       the database failed
└── DeliveryError    a digest could not be delivered
"""

from __future__ import annotations

from dataclasses import dataclass


class MonitorError(Exception):
    """Base of every error monitor raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a configuration file, located as precisely as we can."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(MonitorError):
    """The configuration is invalid; ``problems`` lists everything wrong at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class FetchError(MonitorError):
    """A URL could not be fetched. ``retry_after``: the server asked us to come back after
    this many seconds (429, 503); the scheduler honours it, nobody sleeps on it."""

    def __init__(
        self,
        url: str,
        reason: str,
        status: int | None = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after
        super().__init__(f"{url}: {reason}")


class FetchCancelledError(FetchError):
    """The fetch was cancelled (the service is stopping); not a failure of the source."""


class ParseError(MonitorError):
    """A response could not be parsed into items."""


class StoreError(MonitorError):
    """The database failed."""


class DeliveryError(MonitorError):
    """A digest could not be delivered."""
