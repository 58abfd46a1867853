"""Load and validate ``sources.yaml``: sources, publishers, topics, classifier rules, profiles.

Every problem is reported at once, each naming file, line and key path (see ``ConfigError``).
Kind-specific source options are validated by the model the source kind registers, so a new kind
brings its own schema.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError, Problem
from monitor.yamlload import KeyPath, Located, load_yaml

SECTIONS = ("strategy", "funding", "industry", "research")
Section = Literal["strategy", "funding", "industry", "research"]
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """``"6h"``, ``"30m"``, ``"1d"``, or a number of seconds → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30m, 6h, 1d)")
    return timedelta(seconds=float(match[1]) * _UNITS[match[2]])


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpConfig(Model):
    """How the fetcher behaves towards the sites it polls."""

    user_agent: str = "monitor/{version} (+{contact})"
    contact: str = "mailto:monitor-admin@example.org"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)  # the longest silence within one attempt
    deadline: float = Field(60.0, gt=0)  # the longest a request may take, all in all
    retries: int = Field(2, ge=0, le=10)  # quick retries within the deadline
    backoff: float = Field(1.0, ge=0)
    retry_after_max: float = Field(86400.0, ge=0)  # the longest Retry-After the scheduler honours
    max_bytes: int = Field(5_000_000, gt=0)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=64)
    per_host_concurrency: int = Field(2, ge=1, le=16)
    per_host_delay: float = Field(1.0, ge=0)
    respect_robots: bool = True


class Publisher(Model):
    """Glossary entry: how the bulletin names a publisher."""

    name: str
    name_zh: str | None = None
    abbr: str | None = None
    short_zh: str | None = None  # how headlines name it: 白宫, 国防部 (default: abbr)
    country: str | None = None
    country_zh: str | None = None
    kind: Literal["government", "agency", "lab", "university", "company", "media", "other"] = (
        "agency"
    )


class SourceConfig(Model):
    """Fields every source has; each kind adds its own (see ``monitor.sources``)."""

    id: str
    name: str
    kind: str
    url: str
    publisher: str
    language: str = "en"
    timezone: str = "UTC"
    section: Section | None = None
    interval: Duration | None = None
    enabled: bool = True
    fetch_articles: bool = True
    max_items: int = Field(200, ge=1, le=5000)
    headers: dict[str, str] = Field(default_factory=dict)
    date_in_url: str | None = None  # regex; its first group is an ISO date (YYYY-MM-DD)
    urls_change: bool = False  # the feed changes item URLs: its GUIDs identify items

    def fingerprint(self) -> str:
        """Changes whenever the definition changes (so cached validators are dropped)."""
        dumped = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha1(dumped.encode()).hexdigest()

    @field_validator("date_in_url")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pattern = re.compile(value)
            except re.error as e:
                raise ValueError(f"invalid regular expression: {e}") from e
            if pattern.groups < 1:
                raise ValueError("the expression needs a group capturing the date")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = {"user-agent", "if-none-match", "if-modified-since"}
        clash = sorted(k for k in value if k.lower() in reserved)
        if clash:
            raise ValueError(f"these headers are set by monitor: {', '.join(clash)}")
        return value

    @field_validator("id", "publisher")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be lowercase letters, digits, '-' or '_'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _valid_zone(value):
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Europe/London)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.strip()


Weights = dict[str, float]


class TopicConfig(Model):
    label: str
    label_zh: str | None = None
    terms: Weights


class ClassifierConfig(Model):
    """Rule layer settings; terms match whole words (``*`` ends a stem), Chinese terms as text."""

    threshold: float = Field(0.5, ge=0, le=1)
    exclude: Weights = Field(default_factory=dict)
    sections: dict[Section, Weights] = Field(default_factory=dict)
    model: bool = True  # use the learned layer when a model is available


class SectionLabel(Model):
    key: Literal["feature", "strategy", "funding", "industry", "research"]
    label: str


EMAIL = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")


class AlertMatch(Model):
    """Conditions on a new item for a news alert (快讯); every condition set must hold."""

    min_score: float | None = Field(None, ge=0, le=1)
    sections: list[Section] = Field(default_factory=list)  # the item's section is one of these
    topics: list[str] = Field(default_factory=list)  # the item has one of these topics
    min_amount: dict[str, float] = Field(default_factory=dict)  # currency → least sum named

    @field_validator("min_amount")
    @classmethod
    def _currencies(cls, value: dict[str, float]) -> dict[str, float]:
        from monitor.drafting.amounts import CURRENCY_ZH

        unknown = sorted(c for c in value if c not in CURRENCY_ZH)
        if unknown:
            raise ValueError(
                f"unknown currency {', '.join(unknown)} (supported: {', '.join(CURRENCY_ZH)})"
            )
        if any(v <= 0 for v in value.values()):
            raise ValueError("sums must be greater than 0")
        return value

    @property
    def has_condition(self) -> bool:
        return bool(self.min_score is not None or self.sections or self.topics or self.min_amount)


class AlertAlternative(AlertMatch):
    """One alternative of ``any_of``."""

    @model_validator(mode="after")
    def _some_condition(self) -> AlertAlternative:
        if not self.has_condition:
            raise ValueError("set at least one of min_score, sections, topics, min_amount")
        return self


class AlertConfig(AlertMatch):
    """A profile's news alert rule: a relevant new item, published within ``max_age``, that
    meets the conditions given here and (when ``any_of`` is given) one of its alternatives is
    emailed to ``recipients`` at once, once per story. Without recipients the alerts are only
    recorded (``monitor flashes``): a dry run."""

    enabled: bool = True
    recipients: list[str] = Field(default_factory=list)
    max_age: Duration = parse_duration("3d")  # older items (a new source's backlog) never alert
    any_of: list[AlertAlternative] = Field(default_factory=list)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not EMAIL.match(a.strip())]
        if bad:
            raise ValueError(f"not an email address: {', '.join(repr(a) for a in bad)}")
        return [a.strip() for a in value]

    @model_validator(mode="after")
    def _some_condition(self) -> AlertConfig:
        if not (self.has_condition or self.any_of):
            raise ValueError(
                "set at least one of min_score, sections, topics, min_amount or any_of "
                "(else every relevant item would be an alert)"
            )
        return self


class ProfileConfig(Model):
    title: str
    layout: Literal["cas", "zj", "idei"] = "cas"
    sections: list[SectionLabel]
    feature_max: int = Field(2, ge=0, le=5)
    max_items: int = Field(60, ge=1)
    recipients: list[str] = Field(default_factory=list)
    attach_markdown: bool = False
    word: bool = False  # also write the digest as a Word file (and attach it to the email)
    send_empty: bool = True
    alert: AlertConfig | None = None  # news alerts (快讯): new items emailed at once


class DigestConfig(Model):
    timezone: str = "Asia/Shanghai"
    schedule: str = "mon 08:00"  # "mon 08:00", a crontab line "0 8 * * mon", or "every 30s"

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        from monitor.schedule import parse_schedule

        parse_schedule(value)
        return value

    default_profile: str = "cas"
    profiles: dict[str, ProfileConfig]


class ServiceConfig(Model):
    """How ``monitor run`` behaves unattended."""

    interval: Duration = parse_duration("6h")  # default poll interval of a source
    jitter: Duration = parse_duration("10m")  # random delay added to each poll
    misfire_grace: Duration = parse_duration("1h")  # of the periodic jobs (health, outbox)
    shutdown_timeout: Duration = parse_duration("30s")
    tick: Duration = parse_duration("5s")  # how often due sources are looked for
    poll_deadline: Duration = parse_duration("3m")  # the longest one poll may take, all in all
    poll_lease: Duration = parse_duration("5m")  # a crashed poll's claim expires after this
    failure_retry: Duration = parse_duration("5m")  # after a failed poll; doubles, up to interval
    reload_on_change: bool = True  # reload sources.yaml when it changes (also on SIGHUP)
    failure_threshold: int = Field(3, ge=1)
    silence_factor: float = Field(4.0, ge=1)
    health_interval: Duration = parse_duration("10m")
    maintainers: list[str] = Field(default_factory=list)
    outbox_interval: Duration = parse_duration("1m")  # how often due emails are (re)tried
    delivery_backoff: Duration = parse_duration("2m")  # doubles with each failed attempt
    delivery_attempts: int = Field(6, ge=1)
    delivery_lease: Duration = parse_duration("5m")
    http_host: str = "0.0.0.0"
    http_port: int = Field(8080, ge=0, le=65535)
    http_threads: int = Field(4, ge=1, le=64)  # requests served at once
    http_connections: int = Field(100, ge=1)  # open connections at most
    http_idle_timeout: Duration = parse_duration("10s")  # an idle connection is closed after
    healthz_max_poll_age: Duration | None = None  # default: twice the shortest interval
    article_fetch_limit: int = Field(20, ge=0)

    @model_validator(mode="after")
    def _lease_covers_poll(self) -> ServiceConfig:
        if self.poll_lease <= self.poll_deadline:
            raise ValueError(
                f"poll_lease ({self.poll_lease}) must be longer than poll_deadline "
                f"({self.poll_deadline}), or a slow poll could run twice"
            )
        return self


class Config(Model):
    """The whole of ``sources.yaml``; ``sources`` holds kind-specific models."""

    version: Literal[1] = 1
    http: HttpConfig = Field(default_factory=HttpConfig)
    service: ServiceConfig = Field(default_factory=ServiceConfig)
    publishers: dict[str, Publisher] = Field(default_factory=dict)
    sources: list[SourceConfig] = Field(default_factory=list)
    topics: dict[str, TopicConfig] = Field(default_factory=dict)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    digest: DigestConfig
    path: str = ""

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)

    def publisher(self, publisher_id: str) -> Publisher:
        return self.publishers.get(publisher_id) or Publisher(name=publisher_id)


def load_config(path: Path) -> Config:
    """Read and validate a configuration file; raise ConfigError listing every problem."""
    located = load_yaml(path)
    return validate_config(located)


def validate_config(located: Located) -> Config:
    from monitor.sources import registry  # the registry imports this module for SourceConfig

    data = located.data
    if not isinstance(data, dict):
        raise ConfigError([located.problem((), "the file must hold a mapping (key: value)")])
    problems: list[Problem] = []
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        problems.append(located.problem(("sources",), "must be a list of sources"))
        raw_sources = []
    sources = [
        s
        for i, raw in enumerate(raw_sources)
        if (s := _validate_source(raw, i, located, registry.kinds(), problems)) is not None
    ]
    config: Config | None = None
    try:
        config = Config.model_validate({**data, "sources": [], "path": located.file})
    except ValidationError as e:
        problems.extend(_problems(e, located, (), Config))
    if config is not None:
        config = config.model_copy(update={"sources": sources})
        problems.extend(_cross_check(config, located))
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0, p.key)))
    assert config is not None
    return config


def _validate_source(
    raw: Any, index: int, located: Located, kinds: dict[str, Any], problems: list[Problem]
) -> SourceConfig | None:
    path: KeyPath = ("sources", index)
    if not isinstance(raw, dict):
        problems.append(located.problem(path, "a source must be a mapping"))
        return None
    kind = raw.get("kind")
    model = kinds.get(kind) if isinstance(kind, str) else None
    if model is None:
        supported = ", ".join(sorted(kinds))
        problems.append(
            located.problem((*path, "kind"), f"unknown kind {kind!r} (supported: {supported})")
        )
        model = SourceConfig
        raw = {k: v for k, v in raw.items() if k in SourceConfig.model_fields}
    try:
        return model.model_validate(raw)
    except ValidationError as e:
        problems.extend(_problems(e, located, path, model))
        return None


def _problems(
    error: ValidationError, located: Located, prefix: KeyPath, model: type[BaseModel]
) -> list[Problem]:
    out = []
    for err in error.errors():
        loc: KeyPath = tuple(err["loc"])
        path = (*prefix, *loc)
        if err["type"] == "extra_forbidden":
            allowed = sorted(_fields_at(model, loc[:-1]))
            message = f"unknown key (allowed: {', '.join(allowed)})"
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        elif err["type"] == "missing":
            message = "required key is missing"
        else:
            message = f"{err['msg']} (got {_short(err.get('input'))})"
        out.append(located.problem(path, message))
    return out


def _fields_at(model: Any, loc: KeyPath) -> Iterable[str]:
    """The field names of the model found by following ``loc`` through annotations."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            field = current.model_fields.get(part)
            if field is None:
                return ()
            current = field.annotation
        else:
            args = get_args(current)
            current = args[-1] if args else None
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current.model_fields.keys()
    return ()


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated so that ``X | None`` gives ``X``."""
    while True:
        args = [a for a in get_args(annotation) if a is not type(None)]
        if get_origin(annotation) in (list, dict) or not args:
            return annotation
        if len(args) == 1 or get_origin(annotation) is Annotated:
            annotation = args[0]
            continue
        return annotation


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _cross_check(config: Config, located: Located) -> list[Problem]:
    problems = []
    raw_sources = located.data.get("sources") or []
    seen: set[str] = set()
    for index, raw in enumerate(raw_sources):
        source_id = raw.get("id") if isinstance(raw, dict) else None
        if isinstance(source_id, str) and source_id in seen:
            problems.append(
                located.problem(("sources", index, "id"), f"duplicate source id {source_id!r}")
            )
        seen.add(str(source_id))
    indexes = {r.get("id"): i for i, r in enumerate(raw_sources) if isinstance(r, dict)}
    for source in config.sources:
        if config.publishers and source.publisher not in config.publishers:
            known = difflib.get_close_matches(source.publisher, list(config.publishers), n=1)
            hint = f"; did you mean {known[0]!r}?" if known else ""
            problems.append(
                located.problem(
                    ("sources", indexes[source.id], "publisher"),
                    f"publisher {source.publisher!r} is not in the publishers glossary{hint}",
                )
            )
    for name, topic in config.topics.items():
        if not SLUG.match(name):
            problems.append(located.problem(("topics", name), "topic ids must be lowercase slugs"))
        problems.extend(_check_terms(topic.terms, ("topics", name, "terms"), located))
    problems.extend(_check_terms(config.classifier.exclude, ("classifier", "exclude"), located))
    for section, terms in config.classifier.sections.items():
        problems.extend(_check_terms(terms, ("classifier", "sections", section), located))
    digest = config.digest
    if digest.default_profile not in digest.profiles:
        problems.append(
            located.problem(
                ("digest", "default_profile"),
                f"no profile {digest.default_profile!r} (defined: {', '.join(digest.profiles)})",
            )
        )
    problems.extend(_check_timezone(digest.timezone, located))
    for name, profile in digest.profiles.items():
        problems.extend(_check_alert(config, name, profile, located))
    return problems


def _check_alert(
    config: Config, name: str, profile: ProfileConfig, located: Located
) -> list[Problem]:
    """Topics an alert names must exist; its sections must be sections of the profile."""
    alert = profile.alert
    if alert is None:
        return []
    problems = []
    path: KeyPath = ("digest", "profiles", name, "alert")
    shown = {s.key for s in profile.sections}
    rules: list[tuple[KeyPath, AlertMatch]] = [(path, alert)]
    rules += [((*path, "any_of", i), r) for i, r in enumerate(alert.any_of)]
    for where, rule in rules:
        for index, topic in enumerate(rule.topics):
            if topic not in config.topics:
                close = difflib.get_close_matches(topic, list(config.topics), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.append(
                    located.problem((*where, "topics", index), f"unknown topic {topic!r}{hint}")
                )
        for index, section in enumerate(rule.sections):
            if section not in shown:
                problems.append(
                    located.problem(
                        (*where, "sections", index),
                        f"section {section!r} is not in this profile's sections "
                        f"({', '.join(sorted(shown))})",
                    )
                )
    return problems


def _check_terms(terms: Weights, path: KeyPath, located: Located) -> list[Problem]:
    from monitor.classify.rules import compile_term

    problems = []
    for term in terms:
        try:
            compile_term(term)
        except ValueError as e:
            problems.append(located.problem((*path, term), str(e)))
    return problems


def _check_timezone(name: str, located: Located) -> list[Problem]:
    if _valid_zone(name):
        return []
    return [located.problem(("digest", "timezone"), f"unknown time zone {name!r}")]


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True
