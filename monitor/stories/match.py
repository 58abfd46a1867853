"""Same story, other source: an index of recent items and the decision whether a new item
reports a story already seen. Pure; no I/O.

Candidates come from an inverted index on each item's most distinctive features (rare words,
amounts, acronyms, names, organisations; never words so common that their postings are full),
within a date window, so the cost of one item stays flat as the index grows. Each candidate
is confirmed by a finer check: the TF-IDF cosine of the two items (over the language-neutral
facts only when one is Chinese or Japanese and the other is not), raised when the same amount
of money or percentage appears in both and vetoed when both name sums and none agree (a
different award of one programme is a different story).
Two items of the same source never join one story.
"""

from __future__ import annotations

import heapq
import json
import math
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from importlib.resources import files
from itertools import islice, repeat
from operator import add, mul, sub
from typing import TYPE_CHECKING

from monitor.stories.features import Profile, profile
from monitor.stories.glossary import Glossary

if TYPE_CHECKING:
    from monitor.config import Publisher


@dataclass(frozen=True)
class StoryDoc:
    """An item as the story grouping sees it."""

    item_id: int  # unique
    source_id: str
    publisher: str  # key of the publishers glossary
    title: str
    summary: str = ""
    text: str = ""  # article text when fetched (only its opening is used)
    language: str = "en"  # "en", "zh", "de", "ja", ...
    published: date | None = None


@dataclass(frozen=True)
class StoryMatch:
    """The story an item belongs to, the member it matched best, and why."""

    story_id: int
    item_id: int
    score: float
    reasons: tuple[str, ...]
    # other stories the item matches as well: one announcement that formed two stories before
    # this item bridged them (their sources apart: a source publishes an announcement once)
    merges: tuple[int, ...] = ()


@dataclass(frozen=True)
class Tuning:
    """Thresholds and weights of the decision (chosen by cross-validation on the pair set,
    see ``benchmarks/story_pairs.py``)."""

    threshold: float = 0.22  # same script: cosine plus bonuses
    cross_threshold: float = 0.20  # Chinese/Japanese against Latin script: neutral facts only
    amount_bonus: float = 0.12  # the same sum of money in both
    # both name sums and none agree: score multiplied by this; 0 vetoes the match (a different
    # sum is a different story: chosen with the thresholds in the cross-validation)
    amount_conflict: float = 0.0
    percent_bonus: float = 0.05
    percent_conflict: float = 0.7
    min_cosine: float = 0.12  # below this, no bonus makes a match
    query_features: int = 14  # distinctive features looked up per new item
    posting_limit: int = 150  # most recent items kept per feature; features of more items
    # than this are too common to find candidates by (they still count in the cosine)
    posting_read: int = 30  # of which the newest are read when looking up a new item
    confirm_limit: int = 10  # candidates confirmed by the finer check
    min_shared: float = 0.1  # of the looked-up weight a candidate must share to be confirmed
    merge: bool = True  # an item that matches two stories (their sources apart) merges them


@dataclass
class _Entry:
    item_id: int
    story_id: int
    source_id: str
    day: date
    dated: bool
    profile: Profile
    neutral: dict[str, float] = field(default_factory=dict)  # the language-neutral features
    norm: float = 0.0  # of the TF-IDF vector, with the IDF of when it was last weighed
    neutral_norm: float = 0.0
    weighed_at: int = -1  # the size of the index then


@dataclass
class _Query:
    """A new item, its features weighted once with the IDF of now."""

    entry: _Entry
    idf: dict[str, float]
    norm: float
    neutral_norm: float
    squared: dict[str, float] = field(default_factory=dict)  # IDF squared, for the cosines


@dataclass
class StoryIndex:
    """Recent items and their stories; ``match`` then ``add`` for each new item."""

    publishers: Mapping[str, Publisher] | None = None
    window_days: int = 14
    tuning: Tuning = field(default_factory=Tuning)
    _glossary: Glossary = field(init=False, repr=False)
    _entries: dict[int, _Entry] = field(init=False, default_factory=dict, repr=False)
    _postings: dict[str, deque[int]] = field(init=False, default_factory=dict, repr=False)
    _df: Counter[str] = field(init=False, default_factory=Counter, repr=False)
    _story_sources: dict[int, Counter[str]] = field(init=False, default_factory=dict, repr=False)
    _story_items: dict[int, set[int]] = field(init=False, default_factory=dict, repr=False)
    _latest: date | None = field(init=False, default=None, repr=False)
    _profiled: dict[int, _Entry] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._glossary = Glossary.build(self.publishers)

    def __len__(self) -> int:
        return len(self._entries)

    # ------------------------------------------------------------------------------ public
    def profile(self, doc: StoryDoc) -> Profile:
        """The features of ``doc`` (what ``match`` and ``add`` compute when not given them:
        the costly part, which a worker process may do instead)."""
        return story_profile(doc, self._glossary)

    def match(self, doc: StoryDoc, features: Profile | None = None) -> StoryMatch | None:
        """The story ``doc`` belongs to, or None when it is a new story."""
        entry = self._entry(doc, -1, features)
        if len(self._profiled) > 1000:  # profiles kept for ``add`` of the same item
            self._profiled.clear()
        self._profiled[doc.item_id] = entry
        query = self._query(entry)
        best: dict[int, tuple[float, StoryMatch]] = {}  # per story, its best-matching member
        for candidate in self._candidates(query):
            if not self._eligible(entry, candidate):
                continue
            self._weigh(candidate)
            score, reasons = self._score(query, candidate)
            if score is None:
                continue
            found = best.get(candidate.story_id)
            if found is None or (score, -candidate.item_id) > (found[0], -found[1].item_id):
                match = StoryMatch(candidate.story_id, candidate.item_id, score, reasons)
                best[candidate.story_id] = (score, match)
        if not best:
            return None
        ranked = sorted(best.values(), key=lambda found: (-found[0], found[1].item_id))
        top = ranked[0][1]
        if len(ranked) == 1 or not self.tuning.merge:
            return top
        sources = Counter(self._story_sources.get(top.story_id, {}))
        merges = []
        for _, other in ranked[1:]:
            carried: Mapping[str, int] = self._story_sources.get(other.story_id, {})
            if any(source in sources for source in carried):
                continue
            merges.append(other.story_id)
            sources.update(carried)
        return replace(top, merges=tuple(merges)) if merges else top

    def merge(self, story_id: int, others: Iterable[int]) -> list[int]:
        """Make the members of ``others`` members of ``story_id``; returns the items moved."""
        moved: list[int] = []
        members = self._story_items.setdefault(story_id, set())
        sources = self._story_sources.setdefault(story_id, Counter())
        for other in others:
            if other == story_id:
                continue
            for item_id in self._story_items.pop(other, set()):
                self._entries[item_id].story_id = story_id
                members.add(item_id)
                moved.append(item_id)
            sources.update(self._story_sources.pop(other, Counter()))
        return moved

    def add(self, doc: StoryDoc, story_id: int, features: Profile | None = None) -> None:
        """Remember ``doc`` as a member of ``story_id``."""
        if doc.item_id in self._entries:
            self._remove(doc.item_id)
        entry = self._profiled.pop(doc.item_id, None) or self._entry(doc, story_id, features)
        entry.story_id = story_id
        item_id = doc.item_id
        self._entries[item_id] = entry
        df, every, limit = self._df, self._postings, self.tuning.posting_limit
        count, find = df.get, every.get
        for feature in entry.profile.counts:
            df[feature] = count(feature, 0) + 1
            postings = find(feature)
            if postings is None:
                postings = every[feature] = deque(maxlen=limit)
            postings.append(item_id)
        self._story_sources.setdefault(story_id, Counter())[doc.source_id] += 1
        self._story_items.setdefault(story_id, set()).add(item_id)
        if doc.published and (self._latest is None or doc.published > self._latest):
            self._latest = doc.published

    def forget_before(self, day: date) -> int:
        """Drop the items older than ``day`` (undated items count from when they were added);
        returns how many."""
        old = [i for i, e in self._entries.items() if e.day < day]
        for item_id in old:
            self._remove(item_id)
        return len(old)

    # ------------------------------------------------------------------------------ internals
    def _entry(self, doc: StoryDoc, story_id: int, features: Profile | None = None) -> _Entry:
        prof = features or story_profile(doc, self._glossary)
        day = doc.published or self._latest or date.min
        dated = doc.published is not None
        return _Entry(doc.item_id, story_id, doc.source_id, day, dated, prof, prof.neutral())

    def _query(self, entry: _Entry) -> _Query:
        idf = self._idfs(entry.profile.counts)
        norm, neutral_norm = _norm(entry.profile.counts, idf), _norm(entry.neutral, idf)
        values = idf.values()
        return _Query(
            entry, idf, norm, neutral_norm, dict(zip(idf, map(mul, values, values), strict=True))
        )

    def _remove(self, item_id: int) -> None:
        entry = self._entries.pop(item_id)
        for feature in entry.profile.counts:
            self._df[feature] -= 1
            if self._df[feature] <= 0:
                del self._df[feature]
                self._postings.pop(feature, None)
                continue
            postings = self._postings.get(feature)
            if postings is not None and item_id in postings:
                postings.remove(item_id)
        sources = self._story_sources.get(entry.story_id)
        if sources is not None:
            sources[entry.source_id] -= 1
            if sources[entry.source_id] <= 0:
                del sources[entry.source_id]
            if not sources:
                del self._story_sources[entry.story_id]
        members = self._story_items.get(entry.story_id)
        if members is not None:
            members.discard(item_id)
            if not members:
                del self._story_items[entry.story_id]

    def _idfs(self, features: Iterable[str]) -> dict[str, float]:
        """The IDF of each feature: its document frequency in the index plus in a background
        corpus of agency news (the shipped training set), so that words every such item uses
        ("advanced manufacturing") weigh little even while the index is still small. Exact,
        each step a pass in C (``map``)."""
        features = list(features)
        size, frequency = background()
        log_total = math.log(len(self._entries) + size + 20)
        found = map(add, map(self._df.get, features, _ZEROS), map(frequency.get, features, _ZEROS))
        logs = map(math.log, map(add, found, _ONE))
        return dict(zip(features, map(sub, repeat(log_total), logs), strict=True))

    def _candidates(self, query: _Query) -> list[_Entry]:
        # only features some indexed item has can find it; the rarest of them are looked up
        counts = query.entry.profile.counts
        postings, idf = self._postings, query.idf
        # a feature more items carry than its postings keep (a word every other item uses)
        # finds only the latest of them: it still counts in the cosine, it is not looked up
        common, df = self.tuning.posting_limit, self._df
        weights = {f: w * idf[f] for f, w in counts.items() if f in postings and df[f] < common}
        ranked = sorted(weights.items(), key=_heaviest)
        neutral = []
        for f, _ in ranked:
            if f.startswith(_LOOKED_UP):
                neutral.append(f)
                if len(neutral) == 8:
                    break
        lookup = dict.fromkeys([f for f, _ in ranked[: self.tuning.query_features]] + neutral)
        hits: dict[int, float] = {}
        get = hits.get
        read = self.tuning.posting_read
        for feature in lookup:
            weight = weights[feature]
            for item_id in islice(reversed(postings[feature]), read):  # newest first
                hits[item_id] = get(item_id, 0.0) + weight
        # a candidate sharing little of the new item's distinctive weight cannot reach the
        # threshold: only the best sharers are confirmed by the finer check
        floor = self.tuning.min_shared * sum(weights[f] for f in lookup)
        enough = [kv for kv in hits.items() if kv[1] >= floor]
        entries = self._entries
        best = heapq.nlargest(self.tuning.confirm_limit, enough, key=_shared)
        return [entries[item_id] for item_id, _ in best]

    def _eligible(self, query: _Entry, candidate: _Entry) -> bool:
        if candidate.source_id == query.source_id:
            return False
        if query.source_id in self._story_sources.get(candidate.story_id, {}):
            return False  # a source publishes an announcement once
        if query.dated and candidate.dated:
            return abs((query.day - candidate.day).days) <= self.window_days
        return True

    def _weigh(self, entry: _Entry) -> None:
        """(Re)compute an indexed item's norms when the index has grown or shrunk fourfold
        since they were computed (IDF drifts slowly, the more so with the background corpus)."""
        size = len(self._entries)
        then = entry.weighed_at
        if then >= 0 and then * 4 >= size and size * 4 >= then:
            return
        idf = self._idfs(entry.profile.counts)
        entry.norm, entry.neutral_norm = _norm(entry.profile.counts, idf), _norm(entry.neutral, idf)
        entry.weighed_at = size

    def _score(self, new: _Query, candidate: _Entry) -> tuple[float | None, tuple[str, ...]]:
        """The match score of an eligible, weighed candidate (None: not the same story)."""
        tuning = self.tuning
        query = new.entry
        cross = query.profile.cjk != candidate.profile.cjk
        if cross:
            cosine = _cosine(
                query.neutral,
                new.squared,
                new.neutral_norm,
                candidate.neutral,
                candidate.neutral_norm,
            )
        else:
            counts = query.profile.counts
            cosine = _cosine(
                counts, new.squared, new.norm, candidate.profile.counts, candidate.norm
            )
        if cosine < tuning.min_cosine:
            return None, ()
        reasons = [f"{'facts ' if cross else ''}tf-idf {cosine:.2f}"]
        effect = _amount_effect(query.profile, candidate.profile, tuning, reasons)
        if effect == -math.inf:  # sums disagree and the tuning vetoes that
            return None, ()
        score = cosine + effect
        score = score * _percent_factor(query.profile, candidate.profile, tuning, reasons)
        shared = sorted(query.profile.orgs & candidate.profile.orgs)
        if shared:
            reasons.append("same org: " + ", ".join(s.removeprefix("org:") for s in shared[:3]))
        threshold = tuning.cross_threshold if cross else tuning.threshold
        if score < threshold:
            return None, ()
        return round(score, 4), tuple(reasons)


_ZEROS = repeat(0)  # the default of each ``dict.get`` in a ``map``
_ONE = repeat(1)
_LOOKED_UP = ("amt:", "pct:", "acr:", "name:", "org:")  # looked up even when not the rarest


def _heaviest(item: tuple[str, float]) -> tuple[float, str]:
    return -item[1], item[0]


def _shared(item: tuple[int, float]) -> float:
    return item[1]


@cache
def background() -> tuple[int, dict[str, int]]:
    """(items, word → items using it) of the shipped training set: agency news items."""
    frequency: Counter[str] = Counter()
    rows = 0
    glossary = Glossary.build(None)
    with (files("monitor") / "data" / "training.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            features = profile(row.get("title", ""), row.get("summary", ""), "", glossary)
            frequency.update(features.counts.keys())
            rows += 1
    return rows, dict(frequency)


def story_profile(doc: StoryDoc, glossary: Glossary) -> Profile:
    return profile(doc.title, doc.summary, doc.text, glossary)


def _norm(weights: Mapping[str, float], idf: Mapping[str, float]) -> float:
    values = list(map(mul, weights.values(), map(idf.__getitem__, weights)))
    return math.sqrt(sum(map(mul, values, values)))  # the additions of a loop, in C


def _cosine(
    a: Mapping[str, float],
    squared: Mapping[str, float],
    norm_a: float,
    b: Mapping[str, float],
    norm_b: float,
) -> float:
    """TF-IDF cosine of a new item ``a`` and an indexed one ``b``; the IDF is today's (of
    ``a``'s features, ``squared``), ``b``'s norm that of when it was indexed (IDF drifts
    slowly)."""
    if not norm_a or not norm_b:
        return 0.0
    shared = [f for f in a if f in b]  # in ``a``'s order: the same sum wherever it runs
    products = map(
        mul,
        map(mul, map(a.__getitem__, shared), map(b.__getitem__, shared)),
        map(squared.__getitem__, shared),
    )
    return min(sum(products) / (norm_a * norm_b), 1.0)


def _amount_effect(a: Profile, b: Profile, tuning: Tuning, reasons: list[str]) -> float:
    """A bonus for the same sum; a penalty when both name sums and none agree."""
    if not a.amounts or not b.amounts:
        return 0.0
    for x in a.amounts:
        for y in b.amounts:
            if x.agrees(y):
                reasons.append(f"same amount {x}")
                return tuning.amount_bonus
    reasons.append(f"different amounts {a.amounts[0]} / {b.amounts[0]}")
    return -math.inf if tuning.amount_conflict <= 0 else 0.0


def _percent_factor(a: Profile, b: Profile, tuning: Tuning, reasons: list[str]) -> float:
    if any("different amounts" in r for r in reasons):
        return tuning.amount_conflict
    if not a.percents or not b.percents:
        return 1.0
    if a.percents & b.percents:
        reasons.append("same percentage")
        return 1.0 + tuning.percent_bonus
    reasons.append("different percentages")
    return tuning.percent_conflict


def group(
    docs: Iterable[StoryDoc],
    publishers: Mapping[str, Publisher] | None = None,
    *,
    window_days: int = 14,
    tuning: Tuning | None = None,
) -> dict[int, int]:
    """item_id → story_id (the item id of a member: the first of its story, or of the story
    that a later item matched best when it bridged two), deciding item by item in date order
    (undated items last, ties by item id) exactly as the service does."""
    index = StoryIndex(publishers, window_days=window_days, tuning=tuning or Tuning())
    ordered = sorted(docs, key=lambda d: (d.published is None, d.published or date.min, d.item_id))
    stories: dict[int, int] = {}
    for doc in ordered:
        found = index.match(doc)
        story_id = found.story_id if found else doc.item_id
        if found and found.merges:
            for item_id in index.merge(story_id, found.merges):
                stories[item_id] = story_id
        index.add(doc, story_id)
        stories[doc.item_id] = story_id
    return stories
