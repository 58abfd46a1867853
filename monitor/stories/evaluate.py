"""Measure story grouping on labeled pairs (``tests/data/stories/pairs.jsonl``): recall on
true pairs and the false-merge rate on hard negatives, pair by pair and all items at once.
Pure; the caller reads the file.

Three settings:
- ``dated``: what the service sees: each publisher is one source, real dates, 14-day window.
- ``undated``: the same rules with dates ignored, so that a negative from another week or year
  is still a test of the content decision (the setting the thresholds are tuned in).
- ``content``: a stress test: every item its own source and dates ignored, so that even two
  items of one publisher must be told apart by their content alone.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from monitor.stories.match import StoryDoc, StoryIndex, Tuning, group

Item = Mapping[str, Any]


@dataclass(frozen=True)
class Pair:
    a: Item
    b: Item
    same: bool
    kind: str


@dataclass
class Tally:
    """Counts by kind: merged pairs of each kind, and all pairs of each kind."""

    merged: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, kind: str, merged: bool) -> None:
        self.total[kind] += 1
        self.merged[kind] += int(merged)

    def rate(self, kinds: Iterable[str] | None = None) -> float:
        chosen = list(kinds) if kinds is not None else list(self.total)
        total = sum(self.total[k] for k in chosen)
        return sum(self.merged[k] for k in chosen) / total if total else 0.0

    def count(self, kinds: Iterable[str] | None = None) -> tuple[int, int]:
        chosen = list(kinds) if kinds is not None else list(self.total)
        return sum(self.merged[k] for k in chosen), sum(self.total[k] for k in chosen)


@dataclass
class Result:
    true: Tally = field(default_factory=Tally)  # merged = found
    false: Tally = field(default_factory=Tally)  # merged = wrongly merged

    @property
    def recall(self) -> float:
        return self.true.rate()

    @property
    def false_merges(self) -> float:
        return self.false.rate()


def load_pairs(lines: Iterable[str]) -> list[Pair]:
    pairs = []
    for line in lines:
        if line.strip():
            row = json.loads(line)
            pairs.append(Pair(row["a"], row["b"], bool(row["same"]), row["kind"]))
    return pairs


def _doc(item: Item, item_id: int, setting: str) -> StoryDoc:
    dated = setting == "dated" and item.get("date")
    published = date.fromisoformat(item["date"]) if dated else None
    return StoryDoc(
        item_id=item_id,
        source_id=f"s{item_id}" if setting == "content" else str(item["publisher"]),
        publisher=str(item["publisher"]),
        title=str(item["title"]),
        summary=str(item.get("summary") or ""),
        text=str(item.get("text") or ""),
        language=str(item.get("language") or "en"),
        published=published,
    )


def pairwise(pairs: Sequence[Pair], setting: str, tuning: Tuning | None = None) -> Result:
    """Each pair alone through ``group``: a two-item grouping."""
    result = Result()
    for pair in pairs:
        stories = group([_doc(pair.a, 1, setting), _doc(pair.b, 2, setting)], tuning=tuning)
        merged = stories[1] == stories[2]
        (result.true if pair.same else result.false).add(pair.kind, merged)
    return result


def all_at_once(pairs: Sequence[Pair], setting: str, tuning: Tuning | None = None) -> Result:
    """Every distinct item of the set in one ``group`` call, so that wrong chains show up."""
    ids: dict[str, int] = {}
    docs = []
    for pair in pairs:
        for item in (pair.a, pair.b):
            key = item["url"] + "\n" + item["title"]
            if key not in ids:
                ids[key] = len(ids) + 1
                docs.append(_doc(item, ids[key], setting))
    stories = group(docs, tuning=tuning)
    result = Result()
    for pair in pairs:
        a = ids[pair.a["url"] + "\n" + pair.a["title"]]
        b = ids[pair.b["url"] + "\n" + pair.b["title"]]
        (result.true if pair.same else result.false).add(pair.kind, stories[a] == stories[b])
    return result


def scores(pairs: Sequence[Pair], setting: str, tuning: Tuning) -> list[tuple[float, bool]]:
    """Each pair's score with the thresholds off (-inf when never a match: same source,
    outside the window, or below the cosine floor), and whether the sides are cross-script."""
    loose = replace(tuning, threshold=-1e9, cross_threshold=-1e9)
    out = []
    for pair in pairs:
        index = StoryIndex(tuning=loose)
        index.add(_doc(pair.a, 1, setting), 1)
        found = index.match(_doc(pair.b, 2, setting))
        cross = any(r.startswith("facts ") for r in (found.reasons if found else ()))
        out.append((found.score if found else -math.inf, cross))
    return out


def decide(score: tuple[float, bool], threshold: float, cross_threshold: float) -> bool:
    value, cross = score
    return value >= (cross_threshold if cross else threshold)


def folds(pairs: Sequence[Pair], k: int) -> list[list[int]]:
    """Pair indexes in ``k`` folds; pairs sharing an item stay in one fold (no leak)."""
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, pair in enumerate(pairs):
        for item in (pair.a, pair.b):
            key = item["url"] + "\n" + item["title"]
            if key in owner:
                parent[find(i)] = find(owner[key])
            owner[key] = i
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(len(pairs)):
        components[find(i)].append(i)
    out: list[list[int]] = [[] for _ in range(k)]
    for members in sorted(components.values(), key=lambda m: (-len(m), m[0])):
        min(out, key=len).extend(members)
    return out
