"""Which stored items a published issue's citations name, and what the editors' choices mean
as labels. Pure; no I/O.

A citation is matched by canonical URL first (tracking parameters, ``www.``, scheme and
trailing slashes do not matter; a URL that redirects is matched once resolved, by the caller),
then by title (the same words, or nearly: bulletins break and shorten titles), and an entry
then stands for the whole story of the items it matched.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from urllib.parse import urlsplit

from monitor.dedup import canonical_url
from monitor.items import StoredItem

TITLE_SIMILARITY = 0.88  # difflib ratio of two normalised titles that name the same item
_WORD = re.compile(r"[\w$€£¥%.]+", re.UNICODE)


@dataclass(frozen=True)
class CitationRef:
    """A citation as the matcher needs it (see ``monitor.learn.published.Citation``)."""

    title: str | None
    url: str | None


@dataclass(frozen=True)
class EntryRef:
    headline: str
    section: str | None
    citations: tuple[CitationRef, ...]


@dataclass
class EntryMatch:
    entry: EntryRef
    items: list[int] = field(default_factory=list)  # matched item ids
    how: list[str] = field(default_factory=list)  # "url" / "title" per matched item
    missed: list[CitationRef] = field(default_factory=list)  # citations of nothing stored


def normalise_title(title: str) -> str:
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_WORD.findall(text))


def url_key(url: str) -> str:
    """The canonical URL without scheme and ``www.``: what two forms of one address share."""
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/")
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def host_of(url: str) -> str:
    return urlsplit(url.strip()).netloc.lower().removeprefix("www.")


class ItemIndex:
    """The candidate items of an issue, by URL and by title."""

    def __init__(self, items: Iterable[StoredItem]) -> None:
        self.items = {i.id: i for i in items}
        self.by_url: dict[str, int] = {}
        self.titles: list[tuple[str, int]] = []
        for item in sorted(self.items.values(), key=lambda i: i.id):
            for url in (item.url, *(m.url for m in item.mentions)):
                if url:
                    self.by_url.setdefault(url_key(url), item.id)
            self.titles.append((normalise_title(item.title), item.id))

    def by_title(self, title: str) -> int | None:
        wanted = normalise_title(title)
        if len(wanted) < 12:
            return None
        best: tuple[float, int] | None = None
        for known, item_id in self.titles:
            if known == wanted or (len(known) > 20 and (wanted in known or known in wanted)):
                return item_id
            ratio = SequenceMatcher(None, wanted, known).ratio()
            if ratio >= TITLE_SIMILARITY and (best is None or ratio > best[0]):
                best = (ratio, item_id)
        return best[1] if best else None

    def find(self, citation: CitationRef) -> tuple[int | None, str]:
        if citation.url:
            found = self.by_url.get(url_key(citation.url))
            if found is not None:
                return found, "url"
        if citation.title:
            found = self.by_title(citation.title)
            if found is not None:
                return found, "title"
        return None, ""


def match_entries(entries: Sequence[EntryRef], index: ItemIndex) -> list[EntryMatch]:
    matches = []
    for entry in entries:
        found = EntryMatch(entry)
        for citation in entry.citations:
            item_id, how = index.find(citation)
            if item_id is None:
                found.missed.append(citation)
            elif item_id not in found.items:
                found.items.append(item_id)
                found.how.append(how)
        matches.append(found)
    return matches


def labels(
    matches: Sequence[EntryMatch],
    drafted: Sequence[int] | None,
    story_of: Mapping[int, int],
) -> list[tuple[int, str, bool]]:
    """(item id, verdict, weak): kept → relevant and its section (explicit, as a correction
    is); in the draft the editors saw but not kept → irrelevant (weak); nothing for items the
    draft did not show (the editors never judged them)."""
    verdicts: list[tuple[int, str, bool]] = []
    kept_stories = set()
    for match in matches:
        for item_id in match.items:
            kept_stories.add(story_of.get(item_id, item_id))
            verdicts.append((item_id, "relevant", False))
            if match.entry.section:
                verdicts.append((item_id, f"section={match.entry.section}", False))
    for item_id in drafted or ():
        if story_of.get(item_id, item_id) not in kept_stories:
            verdicts.append((item_id, "irrelevant", True))
    return verdicts


def missed_by_host(
    matches: Sequence[EntryMatch], watched_hosts: Iterable[str]
) -> dict[str, dict[str, object]]:
    """Cited but never seen, by host: the citations, and whether some source watches the host
    (the maintainers' to-do list when none does)."""
    watched = list(watched_hosts)
    report: dict[str, dict[str, object]] = {}
    for match in matches:
        for citation in match.missed:
            host = host_of(citation.url) if citation.url else "(no link)"
            entry = report.setdefault(host, {"watched": is_watched(host, watched), "citations": []})
            cited = entry["citations"]
            assert isinstance(cited, list)
            cited.append({"title": citation.title, "url": citation.url})
    return dict(sorted(report.items()))


def is_watched(host: str, watched: Iterable[str]) -> bool:
    """Whether a source polls ``host`` (or a parent or child domain of it)."""
    host = host.removeprefix("www.")
    return any(
        host == w or host.endswith("." + w) or w.endswith("." + host)
        for w in (h.removeprefix("www.") for h in watched)
    )


def issue_key(entries: Sequence[EntryRef]) -> str:
    """The identity of an issue's content (learning it twice changes nothing more)."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry.headline}\0{entry.section}\0".encode())
        for c in entry.citations:
            digest.update(f"{c.title}\0{c.url}\0".encode())
    return digest.hexdigest()
