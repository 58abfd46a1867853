"""Which sources a week's digest must report as failed or quiet: an outage is news, or the
editors would take a week the service could not read for a quiet week. Pure; no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.config import Config, SourceConfig
from monitor.store.sources import SourceWeek

ERROR_CHARS = 120
_INCIDENTS = {
    "silent": "近期没有新动态（可能停更或改版）",
    "empty": "页面读取成功但未提取到条目（可能改版）",
}


@dataclass(frozen=True)
class OutageView:
    name: str  # the source's name in sources.yaml
    publisher: str  # Chinese name of its publisher
    problem: str  # in Chinese


def outages(
    sources: Sequence[SourceConfig],
    weeks: Mapping[str, SourceWeek],
    incidents: Iterable[tuple[str, str]],
    config: Config,
) -> tuple[OutageView, ...]:
    """The enabled sources that failed every poll of the week, were not polled in a week when
    others were, or have an open incident of going quiet or matching nothing."""
    open_incidents: dict[str, str] = {}
    for source_id, kind in incidents:
        if kind in _INCIDENTS:
            open_incidents.setdefault(source_id, _INCIDENTS[kind])
    service_ran = bool(weeks)
    found = []
    for source in sources:
        if not source.enabled:
            continue
        week = weeks.get(source.id)
        if week is not None and week.all_failed:
            error = (week.last_error or "").strip()
            if len(error) > ERROR_CHARS:
                error = error[: ERROR_CHARS - 1] + "…"
            problem = f"本周{week.polls}次抓取全部失败" + (f"（{error}）" if error else "")
        elif week is None and service_ran:
            problem = "本周未抓取"
        elif source.id in open_incidents:
            problem = open_incidents[source.id]
        else:
            continue
        publisher = config.publisher(source.publisher)
        found.append(OutageView(source.name, publisher.name_zh or publisher.name, problem))
    return tuple(found)
